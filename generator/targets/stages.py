"""The deployment sequence both CI targets render: one entry per environment, in promotion order."""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import CanaryStep, Environment, Spec


@dataclass(frozen=True)
class DeployStage:
    env: Environment
    previous: Environment | None  # the environment a version must pass first
    steps: tuple[CanaryStep, ...]  # canary steps below 100 %; empty for rolling
    first_job: str  # the job that starts deploying here
    last_job: str  # the job after which the version is fully promoted here


def deploy_stages(spec: Spec) -> list[DeployStage]:
    out: list[DeployStage] = []
    previous: Environment | None = None
    for env in spec.deploy.environments:
        steps = env.canary_steps
        first = f"canary-{env.name}-{steps[0].weight}" if steps else f"deploy-{env.name}"
        last = f"promote-{env.name}" if steps else f"deploy-{env.name}"
        out.append(DeployStage(env, previous, steps, first, last))
        previous = env
    return out


@dataclass(frozen=True)
class SourceScan:
    """A security scan of the repository, run in parallel with the tests by both CI targets."""

    job: str
    title: str
    image: str
    script: str
    report: str  # file kept as an artifact


def source_scans(spec: Spec) -> list[SourceScan]:
    scans = spec.ci.security
    semgrep_levels = {"low": ("ERROR", "WARNING", "INFO"), "medium": ("ERROR", "WARNING")}.get(
        scans.fail_on, ("ERROR",))
    candidates = [
        (scans.sast, SourceScan(
            "sast", "SAST", "semgrep/semgrep:1.95.0",
            "semgrep scan --config auto --error --metrics off "
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
