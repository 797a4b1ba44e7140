"""GitLab CI: .gitlab-ci.yml with MR/default-branch/tag/schedule workflow and a needs DAG."""

from __future__ import annotations

from dataclasses import replace

from generator.artifacts import PlannedArtifact, RenderedFile, Syntax
from generator.frozen import frozen
from generator.model import Spec, Training
from generator.render.targets import steps
from generator.render.targets.gitlab_diagram import pipeline_diagram
from generator.render.targets.names import UniqueNames
from generator.render.targets.registries import registry_login
from generator.render.targets.shell import Arg, Authored, Fragment, Line, command
from generator.render.targets.stages import DeployJob, DeployStage, SourceScan, deploy_stages, source_scans

# Top-level keys GitLab reads as configuration, not as jobs, and the templates the blueprints extend.
GITLAB_KEYWORDS = ("default", "include", "stages", "variables", "workflow", "image", "services", "cache",
                   "before_script", "after_script", "spec")
TEMPLATES = (".delivery", ".python", ".mlopsgen", ".retrain")

# role -> (job name, what the job does); the fields of GitLabJobs
FIXED_JOBS = {
    "check": ("mlopsgen-check", "the drift check"),
    "sync": ("mlopsgen-sync", "the regeneration merge request"),
    "model_registered": ("model-registered", "the model registry check"),
    "lint": ("lint", "ci.tests.lint"),
    "unit_tests": ("unit-tests", "ci.tests.unit"),
    "data_validation": ("data-validation", "ci.tests.dataValidation"),
    "model_validation": ("model-validation", "ci.tests.modelValidation"),
    "build_image": ("build-image", "the image build"),
    "container_scan": ("container-scan", "ci.security.containerScan"),
    "sbom": ("sbom", "ci.security.sbom"),
    "retrain_data_checks": ("retrain-data-checks", "training.dataChecks"),
    "retrain_train": ("retrain-train", "training.command"),
    "retrain_evaluate": ("retrain-evaluate", "training.evaluation"),
    "retrain_register": ("retrain-register", "the retrained model's registration"),
    "retrain_propose": ("retrain-propose", "the retrained model's merge request"),
    "registry_champion": ("registry-champion", "moving the registry's champion alias"),
}
FIXED_STAGES = {  # role -> stage name, in pipeline order (the retrain-* ones only run with GitLab CT)
    "validate": "validate", "test": "test", "security": "security", "build": "build", "scan": "scan",
    "retrain_data": "retrain-data", "retrain": "retrain", "retrain_evaluate": "retrain-evaluate",
    "retrain_register": "retrain-register", "retrain_propose": "retrain-propose",
}


@frozen
class GitLabJobs:
    """The names of the jobs every pipeline can hold (claimed whether or not the spec turns them on)."""

    check: str
    sync: str
    model_registered: str
    lint: str
    unit_tests: str
    data_validation: str
    model_validation: str
    build_image: str
    container_scan: str
    sbom: str
    retrain_data_checks: str
    retrain_train: str
    retrain_evaluate: str
    retrain_register: str
    retrain_propose: str
    registry_champion: str  # once, after the last production environment (DeployStage.moves_champion)


@frozen
class GitLabStages:
    validate: str
    test: str
    security: str
    build: str
    scan: str
    retrain_data: str
    retrain: str
    retrain_evaluate: str
    retrain_register: str
    retrain_propose: str


@frozen
class GitLabDeployJob:
    job: DeployJob  # job.name names the GitLab job
    script: tuple[Line, ...]
    start_in: str  # analyze: the pause before it, in GitLab's wording ("" for a promote)


@frozen
class GitLabDeploy:
    """One environment's part of .gitlab-ci.yml: its steps (DeployJob.name names each job) and the
    names around them."""

    deploy: DeployStage
    stage: str  # its GitLab stage, also the resource group serialising its jobs
    rollback: str  # the manual rollback job (rendered with deploy.manualRollback)
    auto_rollback: str  # the rollback on failure (rendered with deploy.automaticRollback)
    jobs: tuple[GitLabDeployJob, ...] = ()  # deploy.jobs with their scripts (filled in by the plan)
    rollback_script: tuple[Line, ...] = ()  # both rollback jobs run it


@frozen
class GitLabScripts:
    """The script lines of every job .gitlab-ci.yml can hold; () where the spec turns the job off.

    The blueprints write each line as `- {{ line.yaml }}` (generator/render/targets/shell.py)."""

    python_setup: tuple[Line, ...]  # .python: the project's requirements, its code on PYTHONPATH
    mlopsgen_setup: tuple[Line, ...]  # .mlopsgen: git (for check and sync) and mlopsgen
    check: tuple[Line, ...]
    sync: tuple[Line, ...]
    model_registered: tuple[Line, ...]
    lint: tuple[Line, ...]
    unit_tests: tuple[Line, ...]
    data_validation: tuple[Line, ...]
    model_validation: tuple[Line, ...]
    build_and_push: tuple[Line, ...]  # after the registry login
    container_scan: tuple[Line, ...]  # after the trivy login
    sbom: tuple[Line, ...]
    champion: tuple[Line, ...]
    retrain: RetrainScripts | None  # with training


@frozen
class RetrainScripts:
    """The continuous-training jobs' script lines (rendered when training runs on GitLab)."""

    setup: tuple[Line, ...]  # .retrain
    data_checks: tuple[Line, ...]
    train: tuple[Line, ...]
    evaluate: tuple[Line, ...]
    register: tuple[Line, ...]
    propose: tuple[Line, ...]


@frozen
class GitLabNames:
    jobs: GitLabJobs
    stages: GitLabStages
    deploys: tuple[GitLabDeploy, ...]


def gitlab_names(deploys: list[DeployStage], scans: list[SourceScan]) -> GitLabNames:
    """Every job and stage name of .gitlab-ci.yml, each claimed once (a clash fails here, at plan time)."""
    jobs, stages = UniqueNames(".gitlab-ci.yml job"), UniqueNames(".gitlab-ci.yml stage")
    jobs.reserve(GITLAB_KEYWORDS, "a GitLab CI keyword")
    jobs.reserve(TEMPLATES, "a job template")
    fixed = GitLabJobs(**{role: jobs.claim(name, what) for role, (name, what) in FIXED_JOBS.items()})
    fixed_stages = GitLabStages(**{role: stages.claim(name, f"the {name} stage")
                                   for role, name in FIXED_STAGES.items()})
    for scan in scans:
        jobs.claim(scan.job, f"the {scan.title} scan")
    named = []
    for d in deploys:
        env = d.env.name
        for job in d.jobs:
            jobs.claim(job.name, f"the {job.label!r} step of environment {env!r}")
        named.append(GitLabDeploy(
            d, stages.claim(f"deploy-{env}", f"environment {env!r}"),
            jobs.claim(f"rollback-{env}", f"the manual rollback of environment {env!r}"),
            jobs.claim(f"auto-rollback-{env}", f"the automatic rollback of environment {env!r}")))
    return GitLabNames(fixed, fixed_stages, tuple(named))


@frozen
class GitLabCI:
    name: str = "gitlab"
    pipeline_file: str = ".gitlab-ci.yml"
    syntaxes: tuple[Syntax, ...] = (Syntax.GITLAB_CI,)
    host_lint: str = "GitLab's CI lint"

    def pipeline_diagram(self, files: list[RenderedFile]) -> str | None:
        rendered = next((f for f in files if f.path == self.pipeline_file), None)
        return None if rendered is None else pipeline_diagram(rendered.content)

    def manages_schedules(self, spec: Spec) -> bool:
        """GitLab starts scheduled pipelines from pipeline schedules (project settings), so a sync
        looks at them whenever the repository has a GitLab CI pipeline. A schedule left over after
        the training section went away, or moved to Jenkins or Airflow, would still start that
        pipeline every week, and on the default branch that is the delivery pipeline; so it is
        looked for, and removed. Without GitLab CI a schedule starts nothing: no request is made."""
        training = spec.training
        return self.name in spec.ci.targets or (training is not None and training.orchestrator == self.name)

    def retraining_schedule(self, spec: Spec) -> str | None:
        training = spec.training
        if training is None or training.orchestrator != self.name:
            return None
        return training.triggers.schedule or None

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        if "gitlab" not in spec.ci.targets:
            return []
        scans = source_scans(spec)
        names = gitlab_names(deploy_stages(spec), scans)
        jobs, tests = names.jobs, spec.ci.tests
        gate_needs = [job for job, on in ((jobs.unit_tests, tests.unit), (jobs.data_validation, tests.data_validation))
                      if on]
        build_needs = [job for job, on in ((jobs.check, True), (jobs.lint, tests.lint),
                                           (jobs.model_validation, tests.model_validation),
                                           (jobs.unit_tests, tests.unit and not tests.model_validation),
                                           (jobs.data_validation, tests.data_validation and not tests.model_validation))
                       if on]
        ct = spec.training is not None and spec.training.orchestrator == "gitlab"
        if spec.training is not None:  # the deploy never references a model version the registry lacks
            build_needs.append(jobs.model_registered)
        deploys = tuple(with_scripts(spec, g) for g in names.deploys)
        context = {"deploys": deploys, "jobs": jobs, "stages": names.stages,
                   "gate_needs": gate_needs, "ct": ct,
                   "delivery_only": '$MLOPSGEN_PIPELINE != "retrain"' if ct else '$CI_PIPELINE_SOURCE != "schedule"',
                   "build_needs": build_needs, "scans": scans,
                   "registry_login": registry_login(spec), "scripts": gitlab_scripts(spec),
                   "scan_severity": steps.scan_severity(spec),
                   # where a retraining run writes its model: the run's own directory under training.outputUri
                   "retrain_output_uri": f"{spec.training.output_uri}/$CI_PIPELINE_ID" if spec.training else ""}
        return [PlannedArtifact(self.pipeline_file, "gitlab/gitlab-ci.yml.j2", Syntax.GITLAB_CI, "ci", context)]


def start_in(seconds: int) -> str:
    """GitLab's `start_in` wording for a pause."""
    if seconds % 3600 == 0:
        n, unit = seconds // 3600, "hour"
    elif seconds % 60 == 0:
        n, unit = seconds // 60, "minute"
    else:
        n, unit = seconds, "second"
    return f"{n} {unit}{'s' if n != 1 else ''}"



INSTALL_MLOPSGEN = command("python", "-m", "pip", "install", "--quiet", steps.MLOPSGEN_PACKAGE)
CI_SERVER_URL, CI_PROJECT_PATH = Fragment('"$CI_SERVER_URL"'), Fragment('"$CI_PROJECT_PATH"')


def _authored(text: str | None) -> tuple[Line, ...]:
    return (Authored(text),) if text else ()


def gitlab_scripts(spec: Spec) -> GitLabScripts:
    tests, training, security = spec.ci.tests, spec.training, spec.ci.security
    gate = tests.model_validation
    return GitLabScripts(
        python_setup=python_setup(spec),
        mlopsgen_setup=(Fragment("command -v git >/dev/null || { apt-get update -qq && apt-get install -y -qq "
                                 "--no-install-recommends git ca-certificates; }"), INSTALL_MLOPSGEN),
        check=(steps.drift_check(spec),),
        sync=(command("mlopsgen", "sync", Arg(spec.source), "--gitlab-url", CI_SERVER_URL, "--project", CI_PROJECT_PATH,
                      "--branch", Fragment('"$CI_COMMIT_BRANCH"'), "--merge-request"),),
        model_registered=(steps.registry_check(spec),) if training else (),
        lint=_authored(tests.lint),
        unit_tests=_authored(tests.unit),
        data_validation=_authored(tests.data_validation),
        model_validation=(Authored(gate.command), INSTALL_MLOPSGEN, steps.metrics_gate(spec, gate.metrics_file))
        if gate else (),
        build_and_push=steps.build_and_push(),
        container_scan=(steps.container_scan(),) if security.container_scan else (),
        sbom=(steps.sbom(),) if security.sbom else (),
        champion=(steps.registry_alias(spec, training.registry.champion_alias),) if training else (),
        retrain=retrain_scripts(spec, training) if training else None,
    )


def python_setup(spec: Spec) -> tuple[Line, ...]:
    return (command("python", "-m", "pip", "install", "--quiet", "--requirement", Arg(spec.build.requirements)),
            steps.source_on_path(spec))


def retrain_scripts(spec: Spec, training: Training) -> RetrainScripts:
    fetch = _authored(training.fetch)  # each job runs on a fresh runner: the data is fetched again
    evaluation = Authored(training.evaluation.command)
    return RetrainScripts(
        setup=(*python_setup(spec), INSTALL_MLOPSGEN),
        data_checks=(*fetch, steps.data_check(spec)),
        train=(*fetch, Authored(training.command)),
        evaluate=(*fetch, steps.score("$CHAMPION_URI", "champion.json"), evaluation,
                  steps.score("$MODEL_OUTPUT_URI", "challenger.json"), evaluation, steps.retraining_gate(spec)),
        register=(steps.register(spec, Fragment('"$MODEL_OUTPUT_URI"')),),
        propose=(steps.propose(spec, CI_SERVER_URL, CI_PROJECT_PATH),),
    )


def with_scripts(spec: Spec, named: GitLabDeploy) -> GitLabDeploy:
    env = named.deploy.env
    return replace(named, jobs=tuple(GitLabDeployJob(job, (steps.deploy_command(spec, env, job),),
                                                     start_in(job.delay_seconds) if job.action == "analyze" else "")
                                     for job in named.deploy.jobs),
                   rollback_script=(steps.rollback(env),))
