"""The commands both CI targets run, built once so GitLab and Jenkins run the same ones.

Each function returns a `Command` (generator/render/targets/shell.py) whose spec values are quoted
when it is joined; a target only chooses where the command runs and, through `Fragment`s, which of
its own CI variables it reads. Jenkins runs its steps in the virtualenv of its set-up stage: the
activation prefix lives here, in `in_venv`, and nowhere else.
"""

from __future__ import annotations

import re

from generator.errors import EXIT_UNDETERMINED
from generator.frozen import frozen
from generator.model import Environment, Spec
from generator.render.targets.shell import Arg, Command, Fragment, Line, command
from generator.render.targets.stages import DeployJob

VENV = ".venv"
VENV_ACTIVATE = Fragment(f". {VENV}/bin/activate")
MLOPSGEN_PACKAGE = Fragment('"$MLOPSGEN_PACKAGE"')
IMAGE_REFERENCE = Fragment('"$IMAGE:$IMAGE_TAG"')
RELEASE_SCRIPT = "ci/mlopsgen-release.sh"  # rendered by targets/release_script.py


@frozen
class ShellStep:
    """One Jenkins `sh` step: what the build log shows, and the script it runs."""

    label: str
    script: str


def shell_step(label: str, *lines: Line) -> ShellStep:
    return ShellStep(label, "\n".join(line.shell for line in lines))


def in_venv(label: str, *lines: Line) -> ShellStep:
    """A step run in the virtualenv the set-up step made (every Jenkins step after set-up)."""
    return shell_step(label, VENV_ACTIVATE, *lines)


def in_project(spec: Spec, label: str, *lines: Line) -> ShellStep:
    """A step in the virtualenv that runs the project's own code (tests, validation, training)."""
    return in_venv(label, source_on_path(spec), *lines)


SOURCE_DIRECTORY = re.compile(r"[A-Za-z0-9_./-]+")  # build.source's schema pattern: inert inside "..."


def source_on_path(spec: Spec) -> Fragment:
    """build.source first on PYTHONPATH, for the jobs and steps that run the project's own commands:
    they import the model's code as the serving image does (its Dockerfile copies build.source into
    the working directory), so `python -m <package>.evaluate` works without the repository being
    an installable package."""
    source = spec.build.source
    if not SOURCE_DIRECTORY.fullmatch(source):
        raise ValueError(f"build.source {source!r} is not a plain directory path")
    return Fragment(f'export PYTHONPATH="$PWD/{source}${{PYTHONPATH:+:$PYTHONPATH}}"')


def scan_severity(spec: Spec) -> str:
    """$SCAN_SEVERITY of both pipelines: the severities that fail a scan, as trivy reads them."""
    return ",".join(spec.ci.security.severities)


def drift_check(spec: Spec) -> Command:
    return command("mlopsgen", "check", Arg(spec.source), "--dir", ".")


def metrics_gate(spec: Spec, metrics_file: str) -> Command:
    return command("mlopsgen", "gate", Arg(spec.source), "--metrics", Arg(metrics_file))


ANALYZE_ATTEMPTS = 3  # `analyze` exits 5 when it could not judge (Prometheus away, a query refused)
ANALYZE_RETRY_SECONDS = 30


def analyze(spec: Spec, env: Environment) -> Command:
    """The SLO analysis of the release being deployed ($IMAGE_TAG's pods alone), asked again while it
    could not judge (exit 5, EXIT_UNDETERMINED); a breach (exit 1) fails at once."""
    return command(Fragment(f"for attempt in {' '.join(str(i + 1) for i in range(ANALYZE_ATTEMPTS))}; do"),
                   "mlopsgen", "analyze", Arg(spec.source), "--env", Arg(env.name),
                   "--prometheus-url", Fragment('"$PROMETHEUS_URL"'), "--release", Fragment('"$IMAGE_TAG"'),
                   Fragment(f'&& rc=0 || rc=$?; [ "$rc" -eq {EXIT_UNDETERMINED} ] || break; '
                            f'[ "$attempt" -eq {ANALYZE_ATTEMPTS} ] || sleep {ANALYZE_RETRY_SECONDS}; done; '
                            '(exit "$rc")'))


def promote(env: Environment, job: DeployJob) -> Command:
    return command(RELEASE_SCRIPT, "promote", Arg(env.name), Fragment('"$IMAGE_TAG"'), Arg(job.release))


def rollback(env: Environment) -> Command:
    return command(RELEASE_SCRIPT, "rollback", Arg(env.name))


def deploy_command(spec: Spec, env: Environment, job: DeployJob) -> Command:
    """What one deployment step runs: a release move, or the SLO analysis after one."""
    return promote(env, job) if job.action == "promote" else analyze(spec, env)


def registry_check(spec: Spec) -> Command:
    return command("mlopsgen", "registry", "check", Arg(spec.source))


def registry_alias(spec: Spec, alias: str) -> Command:
    return command("mlopsgen", "registry", "alias", Arg(spec.source), "--alias", Arg(alias))


def container_scan() -> Command:
    return command("trivy", "image", "--severity", Fragment('"$SCAN_SEVERITY"'), "--exit-code", "1", "--no-progress",
                   IMAGE_REFERENCE)


def sbom() -> Command:
    return command("trivy", "image", "--format", "cyclonedx", "--output", "sbom.cdx.json", "--no-progress",
                   IMAGE_REFERENCE)


# ------------------------------------------------------------------------- continuous training

def data_check(spec: Spec) -> Command:
    return command("mlopsgen", "data-check", Arg(spec.source), "--report", "data-check.json")


def retraining_gate(spec: Spec) -> Command:
    return command("mlopsgen", "evaluate", Arg(spec.source), "--challenger", "challenger.json",
                   "--champion", "champion.json", "--report", "gate-report.json", "--markdown", "gate-report.md")


# Where the training command may leave what it logged to MLflow: the run id, and the logged model's
# URI (`mlflow.<flavor>.log_model(...).model_uri`, models:/m-... in MLflow 3). README "Continuous training".
RUN_ID_FILE = "run-id.txt"
MODEL_URI_FILE = "model-uri.txt"


def register(spec: Spec, model_uri: Fragment) -> Command:
    """Register the retrained model: the logged model the training command named in model-uri.txt,
    else the one found at `model_uri` (an expansion of the CI's output location)."""
    source = Fragment(f'"$(cat {MODEL_URI_FILE} 2>/dev/null || echo {model_uri.text})"')
    return command("mlopsgen", "registry", "register", Arg(spec.source), "--source", source,
                   "--run-id", Fragment(f'"$(cat {RUN_ID_FILE} 2>/dev/null || true)"'), "--report", "gate-report.json",
                   "--output", "registered.json")


def propose(spec: Spec, gitlab_url: Fragment, project: Fragment) -> Command:
    return command("mlopsgen", "propose", Arg(spec.source), "--registered", "registered.json",
                   "--report", "gate-report.md", "--gitlab-url", gitlab_url, "--project", project,
                   "--branch", Arg(spec.ci.default_branch))


def score(model_uri: str, metrics_file: str) -> Fragment:
    """The variables the spec's evaluation command reads: which model to score, where to write."""
    return Fragment(f'export MODEL_URI="{model_uri}" METRICS_FILE={metrics_file}')


def build_and_push() -> tuple[Command, Command]:
    """Build the image with the registry's layer cache and push it, once logged in to the registry.
    Docker format, on every runner: buildah's default OCI format has no HEALTHCHECK and drops the
    Dockerfile's (buildah build --format; BUILDAH_FORMAT is only what GitLab's job also sets)."""
    cache = Fragment('"$IMAGE/cache"')
    return (command("buildah", "build", "--format", "docker", "--layers", "--cache-from", cache, "--cache-to", cache,
                    "--tag", IMAGE_REFERENCE, "."),
            command("buildah", "push", IMAGE_REFERENCE))
