"""Jenkins: a declarative Jenkinsfile with the same stages as the GitLab pipeline, and a second
one for continuous training when the spec's training runs on Jenkins."""

from __future__ import annotations

from generator.artifacts import PlannedArtifact, RenderedFile, Syntax
from generator.frozen import frozen
from generator.model import Spec
from generator.render.targets import steps
from generator.render.targets.names import UniqueNames
from generator.render.targets.registries import registry_login
from generator.render.targets.shell import Arg, Authored, Command, Fragment, command
from generator.render.targets.stages import DeployJob, DeployStage, SourceScan, deploy_stages, source_scans
from generator.render.targets.steps import ShellStep, in_venv, shell_step

RETRAIN_SCRIPT_PATH = "Jenkinsfile.retrain"

# role -> stage name; the fields of JenkinsStages and RetrainStages
FIXED_STAGES = {
    "set_up": "Set up", "drift_check": "Drift check", "lint": "Lint", "tests": "Tests", "unit_tests": "Unit tests",
    "data_validation": "Data validation", "model_validation": "Model validation", "security": "Security",
    "model_registered": "Model registered", "build_image": "Build image", "scan_image": "Scan image",
    "champion": "Registry champion",
}
RETRAIN_STAGES = {"set_up": "Set up", "data_checks": "Data checks", "train": "Train", "evaluate": "Evaluate",
                  "register": "Register", "propose": "Propose"}


@frozen
class JenkinsStages:
    """The names of the stages every Jenkinsfile can hold (claimed whether or not the spec turns them on)."""

    set_up: str
    drift_check: str
    lint: str
    tests: str
    unit_tests: str
    data_validation: str
    model_validation: str
    security: str
    model_registered: str
    build_image: str
    scan_image: str
    champion: str  # once, right after the last production environment's stage (DeployStage.moves_champion)


@frozen
class RetrainStages:
    set_up: str
    data_checks: str
    train: str
    evaluate: str
    register: str
    propose: str


@frozen
class JenkinsDeployStep:
    job: DeployJob
    step: ShellStep


@frozen
class JenkinsDeploy:
    deploy: DeployStage
    stage: str  # the stage deploying to this environment
    approval: str  # the input step's question (manual environments)
    steps: tuple[JenkinsDeployStep, ...]  # one per deploy.jobs
    rollback: ShellStep  # run on failure (deploy.automaticRollback)


@frozen
class JenkinsSteps:
    """The shell steps of the Jenkinsfile; None where the spec turns the step off."""

    set_up: ShellStep
    drift_check: ShellStep
    lint: ShellStep | None
    unit_tests: ShellStep | None
    data_validation: ShellStep | None
    evaluate_model: ShellStep | None  # ci.tests.modelValidation: the spec's command, then the gate
    metric_thresholds: ShellStep | None
    registry_check: ShellStep | None  # with training: model.version is registered before the image builds
    build_and_push: tuple[str, ...]  # fixed lines after the registry login (no spec values)
    image_scans: tuple[ShellStep, ...]  # container scan and SBOM, each after the login on OIDC registries
    champion: ShellStep | None  # with training: move the champion alias after the last production deploy


@frozen
class RetrainSteps:
    set_up: ShellStep
    fetch: ShellStep | None
    data_check: ShellStep
    train: ShellStep
    score_champion: ShellStep
    score_challenger: ShellStep
    gate: ShellStep
    register: ShellStep
    propose: ShellStep


def jenkins_names(deploys: list[DeployStage], scans: list[SourceScan]) -> tuple[JenkinsStages, list[str]]:
    """Every stage name of the Jenkinsfile, each claimed once (the deploy stages' names in `deploys`' order):
    Jenkins refuses two stages of one name, parallel ones included, so a clash fails here, at plan time."""
    names = UniqueNames("Jenkinsfile stage")
    fixed = JenkinsStages(**{role: names.claim(name, f"the {name!r} stage") for role, name in FIXED_STAGES.items()})
    for scan in scans:
        names.claim(scan.title, f"the {scan.title} scan")
    return fixed, [names.claim(f"Deploy {d.env.name}", f"environment {d.env.name!r}") for d in deploys]


def retrain_names() -> RetrainStages:
    names = UniqueNames(f"{RETRAIN_SCRIPT_PATH} stage")
    return RetrainStages(**{role: names.claim(name, f"the {name!r} stage") for role, name in RETRAIN_STAGES.items()})


def set_up(spec: Spec) -> ShellStep:
    """The virtualenv every later step activates, with the project's requirements and mlopsgen."""
    return shell_step("Install dependencies", Fragment(f"python3 -m venv {steps.VENV}"), steps.VENV_ACTIVATE,
                      command("pip", "install", "--quiet", "--requirement", Arg(spec.build.requirements)),
                      command("pip", "install", "--quiet", steps.MLOPSGEN_PACKAGE))


def _optional(spec: Spec, label: str, text: str | None) -> ShellStep | None:
    """A step running a command the spec's author wrote, if there is one (it runs the project's code)."""
    return steps.in_project(spec, label, Authored(text)) if text else None


def fixed_lines(*commands: Command) -> tuple[str, ...]:
    """Lines written into a Groovy '''...''' literal as they are: only fixed text may go there."""
    lines = tuple(c.shell for c in commands)
    for c, line in zip(commands, lines, strict=True):
        if any(isinstance(part, Arg) for part in c.parts) or "'''" in line or "\\" in line:
            raise ValueError(f"not fixed text for a Groovy ''' literal: {line!r}")
    return lines


def jenkins_steps(spec: Spec) -> JenkinsSteps:
    tests, training, security = spec.ci.tests, spec.training, spec.ci.security
    gate = tests.model_validation
    scans = ((security.container_scan, "Container scan", steps.container_scan()), (security.sbom, "SBOM", steps.sbom()))
    return JenkinsSteps(
        set_up=set_up(spec),
        drift_check=in_venv("mlopsgen check", steps.drift_check(spec)),
        lint=_optional(spec, "Lint", tests.lint),
        unit_tests=_optional(spec, "Unit tests", tests.unit),
        data_validation=_optional(spec, "Data validation", tests.data_validation),
        evaluate_model=_optional(spec, "Evaluate the model", gate.command if gate else None),
        metric_thresholds=in_venv("Metric thresholds", steps.metrics_gate(spec, gate.metrics_file)) if gate else None,
        registry_check=in_venv("mlopsgen registry check", steps.registry_check(spec)) if training else None,
        build_and_push=fixed_lines(*steps.build_and_push()),
        image_scans=tuple(ShellStep(label, fixed_lines(cmd)[0]) for on, label, cmd in scans if on),
        champion=in_venv("mlopsgen registry alias", steps.registry_alias(spec, training.registry.champion_alias))
        if training else None,
    )


def jenkins_deploy(spec: Spec, deploy: DeployStage, stage: str) -> JenkinsDeploy:
    env = deploy.env
    return JenkinsDeploy(
        deploy, stage, f"Deploy {spec.name} to {env.name}?",
        tuple(JenkinsDeployStep(job, in_venv(job.label, steps.deploy_command(spec, env, job))) for job in deploy.jobs),
        in_venv("Roll back", steps.rollback(env)))


@frozen
class Jenkins:
    name: str = "jenkins"
    pipeline_file: str = "Jenkinsfile"
    syntaxes: tuple[Syntax, ...] = (Syntax.JENKINSFILE,)
    host_lint: str = ""  # Jenkins' declarative linter runs in `mlopsgen jenkins apply`, not around a commit

    def pipeline_diagram(self, files: list[RenderedFile]) -> str | None:
        return None

    def manages_schedules(self, spec: Spec) -> bool:
        return False  # the retraining cron is the Jenkinsfile's own trigger

    def retraining_schedule(self, spec: Spec) -> str | None:
        return None

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        if "jenkins" not in spec.ci.targets:
            return []
        scans = source_scans(spec)
        deploys = deploy_stages(spec)
        stages, deploy_names = jenkins_names(deploys, scans)
        context = {"deploys": [jenkins_deploy(spec, d, name) for d, name in zip(deploys, deploy_names, strict=True)],
                   "stages": stages, "scans": scans, "registry_login": registry_login(spec),
                   "steps": jenkins_steps(spec), "scan_severity": steps.scan_severity(spec)}
        planned = [PlannedArtifact(self.pipeline_file, "jenkins/Jenkinsfile.j2", Syntax.JENKINSFILE, "ci", context)]
        if spec.training is not None and spec.training.orchestrator == "jenkins":
            planned.append(PlannedArtifact(RETRAIN_SCRIPT_PATH, "jenkins/Jenkinsfile.retrain.j2", Syntax.JENKINSFILE,
                                           "training", retrain_context(spec)))
        return planned


def retrain_context(spec: Spec) -> dict[str, object]:
    """Jenkinsfile.retrain: its stages and steps, the agent it runs on and its time limits."""
    training = spec.training
    assert training is not None
    label = spec.ci.jenkins.agent_label
    run_output = Fragment('"$OUTPUT_PREFIX/$BUILD_NUMBER"')
    evaluation = Authored(training.evaluation.command)
    retrain = RetrainSteps(
        set_up=set_up(spec),
        fetch=_optional(spec, "Fetch data", training.fetch),
        data_check=in_venv("Check the training data", steps.data_check(spec)),
        train=steps.in_project(spec, "Train", Fragment(f"export MODEL_OUTPUT_URI={run_output.text}"),
                               Authored(training.command)),
        score_champion=steps.in_project(spec, "Score the champion", steps.score("$CHAMPION_URI", "champion.json"),
                                        evaluation),
        score_challenger=steps.in_project(spec, "Score the challenger",
                                          steps.score("$OUTPUT_PREFIX/$BUILD_NUMBER", "challenger.json"), evaluation),
        gate=in_venv("Retraining gate", steps.retraining_gate(spec)),
        register=in_venv("Register in MLflow", steps.register(spec, run_output)),
        propose=in_venv("Open the merge request",
                        steps.propose(spec, Fragment('"$GITLAB_URL"'), Fragment('"$GITLAB_PROJECT"'))),
    )
    train_minutes = training.timeout_seconds // 60
    return {"stages": retrain_names(), "steps": retrain,
            "agent_label": f"{label} && gpu" if training.gpu else label,
            "train_timeout_minutes": train_minutes,
            "timeout_minutes": train_minutes + 60}  # set-up, data checks, evaluation and registration
