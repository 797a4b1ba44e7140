"""A fresh scaffold's generated pipelines run, offline, and pass.

`mlopsgen init` scaffolds a repository (GitLab and Jenkins); its spec is pointed at mlopsgen's
wheel, built by the test and kept in the repository (`ci.mlopsgenPackage: ci/mlopsgen-...whl`),
and at a local Semgrep rules file (`ci.security.sastRules`), then rendered again, as a user would.

- GitLab: gitlab-ci-local runs the jobs with its shell executor: drift check, lint, unit tests,
  data validation, the model-validation gate and SAST, then deploy-staging and rollback-staging
  against a local bare GitOps repository (git's `url.<path>.insteadOf` maps the spec's https URL
  onto it) with a recording `argocd` on PATH, as tests/test_release_script_argocd.py does.
- Jenkins: tests/jenkins_steps.py pulls the `sh` steps of the same stages out of the rendered
  Jenkinsfile, and they run one after the other with `sh -xe` (what Jenkins' `sh` step runs) in
  the repository, with the Jenkinsfile's environment block and the credentials its deploy
  stages bind.

The runner's Python is a virtualenv whose dependencies are those of this test run (a .pth line,
as in tests/test_wheel.py) and pip has no index (PIP_NO_INDEX): every `pip install` of the jobs
is satisfied offline, mlopsgen from the wheel. Jobs that need network services stay out: the
image build and push (buildah, a registry), the image scans (trivy on the pushed image), the
dependency scan (trivy's vulnerability database is downloaded), secret detection (gitleaks ships
in no package registry reachable here), mlopsgen-sync (the GitLab API), and the SLO analyses and
production steps after them (a Prometheus with the release's metrics).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sysconfig
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conformance.validators import in_ci, require_tool
from conftest import EXAMPLES
from jenkins_steps import parse, read

from generator.cli import main
from generator.errors import SpecError
from generator.spec.intake import load_valid_spec
from generator.spec.normalise import normalise

REPO = Path(__file__).resolve().parent.parent
NAME, PACKAGE = "demo-model", "demo_model"
GITOPS_URL = "https://gitlab.example.com/platform/gitops.git"  # the scaffold's default gitops_repo
GITOPS_TOKEN = "gitops-token"
RECORDER = """#!/usr/bin/env bash
head="$(git --git-dir "$BARE_REPO" rev-parse refs/heads/main)"
echo "$* | head=$head | token=${ARGOCD_AUTH_TOKEN:+set}" >> "$ARGOCD_LOG"
"""
SEMGREP_RULES = """rules:
  - id: no-eval
    pattern: eval(...)
    message: eval runs arbitrary code
    languages: [python]
    severity: ERROR
"""
GIT_IDENTITY = ["-c", "user.name=mlopsgen-test", "-c", "user.email=test@mlopsgen.invalid", "-c", "commit.gpgsign=false"]
# the offline GitLab jobs before the deployment, in the order gitlab-ci-local lists them
GITLAB_JOBS = ("mlopsgen-check", "lint", "unit-tests", "data-validation", "model-validation", "sast")


def git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *GIT_IDENTITY, *args], cwd=cwd, capture_output=True, text=True,
                          check=True).stdout.strip()


def semgrep_bin() -> Path:
    """The directory of Semgrep's own venv (.ci/install-tools), or of a semgrep on PATH: semgrep
    runs pysemgrep from PATH, so the whole directory goes on PATH."""
    installed = REPO / ".tools" / "semgrep" / "bin"
    if (installed / "semgrep").exists():
        return installed
    found = shutil.which("semgrep")
    if found:
        return Path(found).parent
    if in_ci():
        pytest.fail("semgrep is not installed (CI is set; install it with .ci/install-tools)")
    pytest.skip("skipped: semgrep not installed (install with .ci/install-tools)")


@dataclass(frozen=True)
class Scaffold:
    repo: Path  # the scaffolded, rendered and committed repository (copied by each test)
    runner_bin: Path  # the runner's Python
    semgrep_bin: Path


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory, mlopsgen_wheel: Path) -> Scaffold:
    for tool in ("git", "rsync"):
        require_tool(tool)
    semgrep = semgrep_bin()
    out = tmp_path_factory.mktemp("scaffold")
    assert main(["init", "--no-input", "-o", str(out), f"name={NAME}", "ci=both"]) == 0
    repo = out / NAME
    wheel = Path("ci") / mlopsgen_wheel.name
    shutil.copy2(mlopsgen_wheel, repo / wheel)
    spec = repo / "mlops.yaml"
    text = spec.read_text(encoding="utf-8")
    targets = "ci:\n  targets: [gitlab, jenkins]\n"
    assert targets in text
    spec.write_text(text.replace(targets, f"{targets}  mlopsgenPackage: {wheel.as_posix()}\n"
                                          "  security: {sastRules: .semgrep.yml}\n"), encoding="utf-8")
    (repo / ".semgrep.yml").write_text(SEMGREP_RULES, encoding="utf-8")
    assert main(["render", str(spec)]) == 0
    git("init", "--quiet", "--initial-branch=main", cwd=repo)
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "-m", "scaffold", cwd=repo)
    # gitlab-ci-local derives CI_SERVER_URL, CI_PROJECT_PATH and the default branch from origin
    git("remote", "add", "origin", "https://gitlab.invalid/ml-team/demo-model.git", cwd=repo)
    git("update-ref", "refs/remotes/origin/main", "HEAD", cwd=repo)
    git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main", cwd=repo)
    runner = out / "runner"
    venv.EnvBuilder(with_pip=True).create(runner)
    site = subprocess.run([str(runner / "bin" / "python"), "-c",
                           "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    running = dict.fromkeys((sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]))
    (Path(site) / "mlopsgen-test-dependencies.pth").write_text("\n".join(running) + "\n", encoding="utf-8")
    return Scaffold(repo, runner / "bin", semgrep)


@dataclass(frozen=True)
class Workspace:
    repo: Path
    bare: Path  # the GitOps repository
    log: Path  # the recording argocd's calls
    env: dict[str, str]  # the runner's environment
    runner_bin: Path
    secrets: dict[str, str]  # what GitLab's CI/CD variables or Jenkins' credentials hold

    def gitops_log(self) -> list[str]:
        return git("--git-dir", str(self.bare), "log", "--format=%s", "refs/heads/main").splitlines()

    def argocd_calls(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []


@pytest.fixture
def workspace(scaffold: Scaffold, tmp_path: Path) -> Workspace:
    """A copy of the scaffold, its GitOps directory in a bare repository, and the runner's environment."""
    repo = tmp_path / NAME
    shutil.copytree(scaffold.repo, repo, symlinks=True)
    seed, bare = tmp_path / "gitops-seed", tmp_path / "gitops.git"
    shutil.copytree(repo / "apps", seed / "apps")
    git("init", "--quiet", "--initial-branch=main", cwd=seed)
    git("add", "--all", cwd=seed)
    git("commit", "--quiet", "-m", "seed", cwd=seed)
    git("clone", "--quiet", "--bare", str(seed), str(bare))
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "argocd").write_text(RECORDER, encoding="utf-8")
    (tools / "argocd").chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "argocd.log"
    inherited = {k: v for k, v in os.environ.items()
                 if not k.startswith(("CI_", "GITLAB_", "ARGOCD", "MLOPSGEN_", "PYTEST_", "GIT_", "PIP_", "JENKINS"))
                 and k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "WORKSPACE")}
    env = {**inherited,
           "PATH": os.pathsep.join([str(tools), str(scaffold.runner_bin), str(scaffold.semgrep_bin),
                                    os.environ.get("PATH", "/usr/bin:/bin")]),
           "HOME": str(home), "NO_COLOR": "1",
           # offline: nothing is downloaded, a requirement the runner lacks fails the job
           "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_ROOT_USER_ACTION": "ignore",
           "SEMGREP_ENABLE_VERSION_CHECK": "0",
           "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{bare}.insteadOf",
           "GIT_CONFIG_VALUE_0": f"https://oauth2:{GITOPS_TOKEN}@{GITOPS_URL.removeprefix('https://')}",
           "ARGOCD_LOG": str(log), "BARE_REPO": str(bare)}
    secrets = {"GITOPS_TOKEN": GITOPS_TOKEN, "ARGOCD_SERVER": "argocd.invalid", "ARGOCD_AUTH_TOKEN": "argocd-secret"}
    return Workspace(repo, bare, log, env, scaffold.runner_bin, secrets)


def gitlab_ci_local(ws: Workspace, *jobs: str) -> str:
    """Run the jobs with gitlab-ci-local's shell executor, as a push to main; its output. Named
    jobs run without the jobs they need (the image build), and manual ones run too."""
    gcl = require_tool("gitlab-ci-local")
    variables = {"CI_PIPELINE_SOURCE": "push", **ws.secrets}
    flags = [arg for key, value in variables.items() for arg in ("--variable", f"{key}={value}")]
    done = subprocess.run([gcl, "--cwd", ".", "--force-shell-executor", "--home", str(Path(ws.env["HOME"]) / "gcl"),
                           "--no-color", "--ignore-predefined-vars", "CI_PIPELINE_SOURCE", *flags, *jobs],
                          cwd=ws.repo, env=ws.env, capture_output=True, text=True, timeout=600, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    passed = {line.split()[1] for line in output.splitlines() if line.strip().startswith("PASS ")}
    assert set(jobs) <= passed, output
    return output


def assert_gates_ran(ws: Workspace) -> None:
    metrics = json.loads((ws.repo / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["accuracy"] >= 0.85
    report = json.loads((ws.repo / "semgrep.json").read_text(encoding="utf-8"))
    assert report["results"] == []
    assert f"src/{PACKAGE}/serve.py" in report["paths"]["scanned"]


def assert_released_and_rolled_back(ws: Workspace, tag: str) -> None:
    """promote then rollback: three commits (KServe serverless rolls back in two), each pushed
    before Argo CD was asked to refresh and waited for."""
    assert ws.gitops_log() == [f"roll back {NAME} in staging (second step: the known-good image)",
                               f"roll back {NAME} in staging", f"promote {NAME} {tag} to staging (100)", "seed"]
    heads = git("--git-dir", str(ws.bare), "log", "--format=%H", "-3", "refs/heads/main").splitlines()[::-1]
    assert ws.argocd_calls() == [
        call for head in heads for call in (
            f"app get {NAME}-staging --refresh | head={head} | token=set",
            f"app wait {NAME}-staging --sync --health --operation --timeout 600 | head={head} | token=set")]


@pytest.mark.slow
def test_gitlab_jobs_of_a_fresh_scaffold_pass_under_gitlab_ci_local(workspace: Workspace) -> None:
    ws = workspace
    output = gitlab_ci_local(ws, *GITLAB_JOBS)
    assert "All checks passed!" in output  # ruff
    assert f"{NAME}: all" in output and "generated files are current" in output
    assert "model gate: passed" in output
    assert_gates_ran(ws)
    tag = git("rev-parse", "--short=8", "HEAD", cwd=ws.repo)
    gitlab_ci_local(ws, "deploy-staging")
    assert ws.gitops_log()[0] == f"promote {NAME} {tag} to staging (100)"
    overlay = ws.bare.parent / "check"
    git("clone", "--quiet", str(ws.bare), str(overlay))
    assert tag in (overlay / f"apps/{NAME}/overlays/staging/release.yaml").read_text(encoding="utf-8")
    gitlab_ci_local(ws, "rollback-staging")
    assert_released_and_rolled_back(ws, tag)


def run_step(ws: Workspace, env: dict[str, str], script: str) -> subprocess.CompletedProcess[str]:
    """A Jenkins `sh` step: the script in a file, run by `sh -xe` in the workspace."""
    path = ws.repo.parent / "step.sh"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(["sh", "-xe", str(path)], cwd=ws.repo, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.mark.slow
def test_jenkins_steps_of_a_fresh_scaffold_pass_in_the_workspace(workspace: Workspace) -> None:
    ws = workspace
    pipeline = read(ws.repo / "Jenkinsfile")
    # Jenkins' environment: the agent's, the Jenkinsfile's environment block, then the credentials the
    # deploy stages bind (GITOPS_USER/GITOPS_TOKEN, ARGOCD_AUTH_TOKEN); ARGOCD_SERVER is the agent's
    env = {**ws.env, "WORKSPACE": str(ws.repo), **pipeline.environment, **ws.secrets, "GITOPS_USER": "oauth2"}
    # the set-up step makes .venv with `python3 -m venv`: made here first from the runner's Python,
    # whose dependencies are this test run's, the step's pip installs are satisfied offline
    subprocess.run([str(ws.runner_bin / "python"), "-m", "venv", ".venv"], cwd=ws.repo, check=True, env=env)
    runner_site = next((ws.runner_bin.parent / "lib").glob("python*/site-packages"))
    venv_site = next((ws.repo / ".venv" / "lib").glob("python*/site-packages"))
    shutil.copy2(runner_site / "mlopsgen-test-dependencies.pth", venv_site)
    stages = ("Set up", "Drift check", "Lint", "Unit tests", "Data validation", "Model validation", "SAST",
              "Deploy staging")
    ran: list[str] = []
    for stage in stages:
        steps = pipeline.stage_steps(stage)
        assert steps, f"no sh step found in stage {stage!r}"
        for step in steps:
            done = run_step(ws, env, step.script)
            assert done.returncode == 0, (stage, step.label, done.stdout + done.stderr)
            if step.sets:
                env[step.sets] = done.stdout.strip()
            ran.append(f"{stage}: {step.label or step.sets}")
    assert ran[:2] == ["Set up: Install dependencies", "Set up: IMAGE_TAG"]
    assert "Model validation: Metric thresholds" in ran
    assert_gates_ran(ws)
    tag = env["IMAGE_TAG"]
    assert tag == git("rev-parse", "--short=8", "HEAD", cwd=ws.repo)
    assert ws.gitops_log()[0] == f"promote {NAME} {tag} to staging (100)"
    # the deploy stage's post { failure { ... } } step, run as its failure would
    [rollback] = pipeline.stage_steps("Deploy staging", post="failure")
    done = run_step(ws, env, rollback.script)
    assert done.returncode == 0, done.stdout + done.stderr
    assert_released_and_rolled_back(ws, tag)


def test_the_extractor_finds_every_stage_step_and_decodes_groovy_escapes() -> None:
    pipeline = read(EXAMPLES / "churn-predictor/rendered/Jenkinsfile")
    assert pipeline.environment["MODEL_NAME"] == "churn-predictor"
    [unit] = pipeline.stage_steps("Unit tests")
    assert unit.stages == ("Tests", "Unit tests") and unit.script.startswith(". .venv/bin/activate\n")
    assert [s.sets for s in pipeline.stage_steps("Set up")] == ["", "IMAGE_TAG"]
    assert [s.label for s in pipeline.stage_steps("Deploy staging", post="failure")] == ["Roll back"]
    text = "pipeline { stages { stage('a') { steps { sh(label: 'x', script: 'echo \\'hi\\' \\\\ \\u0041') } } } }"
    [step] = parse(text).steps
    assert step.script == "echo 'hi' \\ A"


def spec_with_package(tmp_path: Path, package: str):  # type: ignore[no-untyped-def]
    data = yaml.safe_load((EXAMPLES / "fraud-detector/mlops.yaml").read_text(encoding="utf-8"))
    data["ci"]["mlopsgenPackage"] = package
    path = tmp_path / "mlops.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return normalise(load_valid_spec(path).data, str(path))


@pytest.mark.parametrize("package", ["mlopsgen==0.1.0", "mlopsgen[parquet]>=0.1,<0.2",
                                     "ci/mlopsgen-0.1.0-py3-none-any.whl",
                                     "https://pkgs.example.com/mlopsgen-0.1.0-py3-none-any.whl",
                                     "mlopsgen@https://pkgs.example.com/mlopsgen-0.1.0-py3-none-any.whl"])
def test_the_pipelines_install_mlopsgen_from_a_requirement_a_wheel_path_or_a_url(tmp_path: Path,
                                                                                  package: str) -> None:
    assert spec_with_package(tmp_path, package).ci.mlopsgen_package == package


@pytest.mark.parametrize("package", ["mlopsgen; curl evil", "$(id)", "mlopsgen @ https://x/y.whl"])
def test_a_package_that_is_not_one_word_of_a_requirement_path_or_url_is_refused(tmp_path: Path,
                                                                                package: str) -> None:
    with pytest.raises(SpecError):
        spec_with_package(tmp_path, package)


def test_the_semgrep_that_runs_here_is_the_release_of_the_sast_jobs_image(tmp_path: Path) -> None:
    from generator.render.targets.stages import source_scans

    [sast] = [s for s in source_scans(spec_with_package(tmp_path, "mlopsgen==0.1.0")) if s.job == "sast"]
    release = sast.image.rsplit(":", 1)[1]
    assert f'SEMGREP_PACKAGE="semgrep=={release}"' in (REPO / ".ci/install-tools").read_text(encoding="utf-8")
