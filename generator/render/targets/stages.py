"""The deployment sequence both CI targets render: one entry per environment, in promotion order."""

from __future__ import annotations

from dataclasses import replace

from generator.frozen import frozen
from generator.model import Environment, Spec
from generator.render.rendering import shell_word
from generator.runtimes import controller_driven


@frozen
class DeployJob:
    """One step of moving a version into an environment."""

    name: str
    action: str  # promote | analyze
    release: str  # promote: traffic percent ("100", "10", "0" for a preview) or "shadow"
    label: str  # for people: what this step does
    delay_seconds: int = 0  # analyze: how long to observe first
    manual: bool = False  # waits for a person (the first job of a manual environment)


@frozen
class DeployStage:
    env: Environment
    previous: DeployStage | None  # the environment a version must pass first
    flow: str  # rolling | canary | shadow | preview | controller
    jobs: tuple[DeployJob, ...]
    # the registry's champion alias moves to the deployed version right after this stage: true for
    # the last production environment only (once per pipeline), and only when the spec retrains
    moves_champion: bool = False

    @property
    def first_job(self) -> str:
        return self.jobs[0].name

    @property
    def last_job(self) -> str:
        """The job after which the version is fully promoted here."""
        return self.jobs[-1].name


def _flow(spec: Spec, env: Environment) -> str:
    if env.strategy == "rolling":
        return "rolling"
    if controller_driven(spec):
        return "controller"
    return {"canary": "canary", "shadow": "shadow", "blueGreen": "preview"}[env.strategy]


def _jobs(spec: Spec, env: Environment, flow: str) -> list[DeployJob]:
    name = env.name
    if flow == "rolling":
        return [DeployJob(f"deploy-{name}", "promote", "100", "Deploy")]
    if flow == "controller":  # Argo Rollouts runs the steps and aborts by itself; the pipeline checks after
        observe = sum(step.pause_seconds for step in env.steps) if env.strategy == "canary" else env.duration_seconds
        return [DeployJob(f"deploy-{name}", "promote", "100", f"Deploy ({env.strategy} by Argo Rollouts)"),
                DeployJob(f"verify-{name}", "analyze", "", "Verify SLOs after the rollout", max(observe, 60))]
    if flow == "canary":
        jobs = []
        for step in env.canary_steps:
            jobs += [DeployJob(f"canary-{name}-{step.weight}", "promote", str(step.weight), f"Canary {step.weight}%"),
                     DeployJob(f"analyze-{name}-{step.weight}", "analyze", "", f"Analyse canary {step.weight}%",
                               step.pause_seconds)]
        return [*jobs, DeployJob(f"promote-{name}", "promote", "100", "Promote")]
    start = "shadow" if flow == "shadow" else "0"
    label = "Shadow (mirrored traffic)" if flow == "shadow" else "Blue-green preview"
    return [DeployJob(f"{flow}-{name}", "promote", start, label),
            DeployJob(f"analyze-{name}-{flow}", "analyze", "", f"Analyse the {flow}", env.duration_seconds),
            DeployJob(f"promote-{name}", "promote", "100", "Promote")]


def deploy_stages(spec: Spec) -> list[DeployStage]:
    out: list[DeployStage] = []
    previous: DeployStage | None = None
    production = [i for i, env in enumerate(spec.deploy.environments) if env.production]
    champion_at = production[-1] if production and spec.training is not None else None
    for i, env in enumerate(spec.deploy.environments):
        flow = _flow(spec, env)
        jobs = _jobs(spec, env, flow)
        if env.manual:
            jobs[0] = replace(jobs[0], manual=True)
        stage = DeployStage(env, previous, flow, tuple(jobs), moves_champion=i == champion_at)
        out.append(stage)
        previous = stage
    return out


@frozen
class SourceScan:
    """A security scan of the repository, run in parallel with the tests by both CI targets."""

    job: str
    title: str
    image: str
    script: str
    report: str  # file kept as an artifact


def _semgrep_metrics(rules: str) -> str:
    """Semgrep aborts on `--config auto` with `--metrics off` (semgrep/semgrep pull 4047:
    "Abort when running with --config auto and --metrics off"); any other rules run without."""
    return "" if rules == "auto" else " --metrics off"


def source_scans(spec: Spec) -> list[SourceScan]:
    scans = spec.ci.security
    semgrep_levels = {"low": ("ERROR", "WARNING", "INFO"), "medium": ("ERROR", "WARNING")}.get(
        scans.fail_on, ("ERROR",))
    candidates = [
        (scans.sast, SourceScan(
            "sast", "SAST", "semgrep/semgrep:1.95.0",
            # no call to semgrep.dev for its latest version: an air-gapped runner waits ~25 s for it
            f"SEMGREP_ENABLE_VERSION_CHECK=0 semgrep scan --config {shell_word(scans.sast_rules)} --error"
            f"{_semgrep_metrics(scans.sast_rules)} "
            + " ".join(f"--severity {level}" for level in semgrep_levels)
            + " --json --output semgrep.json", "semgrep.json")),
        (scans.dependency_scan, SourceScan(
            "dependency-scan", "Dependency scan", "aquasec/trivy:0.57.1",
            'trivy fs --scanners vuln --severity "$SCAN_SEVERITY" --exit-code 1 --no-progress'
            " --format json --output trivy-fs.json .", "trivy-fs.json")),
        (scans.secret_detection, SourceScan(
            "secret-detection", "Secret detection", "zricethezav/gitleaks:v8.21.2",
            "gitleaks detect --source . --no-banner --redact --report-path gitleaks.json", "gitleaks.json")),
    ]
    return [scan for enabled, scan in candidates if enabled]
