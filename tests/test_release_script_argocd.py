"""ci/mlopsgen-release.sh waits for Argo CD: after its commit to the GitOps repository, and before
the pipeline's next job (an analysis, the next canary step) can run, the environment's
Application is synced to that commit and healthy.

The rendered script runs for real (bash, git, mlopsgen) against a local bare GitOps repository
(git's `url.<path>.insteadOf` maps the spec's https URL onto it); `argocd` is a recording stand-in
on PATH that logs each call with the GitOps branch head at that moment, so the log shows the
commit was pushed before Argo CD was asked. An environment with `approval: manual` is synced by
the script to the commit; one with `approval: auto` is refreshed and left to its automated sync.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import EXAMPLES
from emulators.gitlab import GitLabEmulator

from generator.cli import main

pytest_plugins = ["emulators.fixtures"]

GITOPS_URL = "https://oauth2:gitops-token@gitlab.example.com/platform/gitops.git"
RECORDER = """#!/usr/bin/env bash
head="$(git --git-dir "$BARE_REPO" rev-parse refs/heads/main)"
echo "$* | head=$head | token=${ARGOCD_AUTH_TOKEN:+set}" >> "$ARGOCD_LOG"
case "$*" in
  *"app wait"*) exit "${ARGOCD_WAIT_EXIT:-0}" ;;
esac
"""


@dataclass(frozen=True)
class Setup:
    root: Path
    script: Path
    bare: Path
    log: Path
    bin: Path

    def head(self) -> str:
        return git("--git-dir", str(self.bare), "rev-parse", "refs/heads/main")

    def calls(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines() if self.log.exists() else []

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("CI_", "ARGOCD", "MLOPSGEN_"))}
        environment.update({
            "PATH": f"{self.bin}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "GITOPS_TOKEN": "gitops-token", "ARGOCD_SERVER": "argocd.example.com",
            "ARGOCD_AUTH_TOKEN": "argocd-secret", "ARGOCD_LOG": str(self.log), "BARE_REPO": str(self.bare),
            "GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{self.bare}.insteadOf", "GIT_CONFIG_VALUE_0": GITOPS_URL,
            **env})
        for name, value in env.items():
            if value == "":
                environment.pop(name)
        return subprocess.run(["bash", str(self.script), *args], cwd=self.root, env=environment, capture_output=True,
                              text=True, timeout=120, check=False)


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    """fraud-detector with a manual production, rendered; its GitOps directory in a bare repository."""
    if shutil.which("mlopsgen", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the mlopsgen entry point is not installed next to this Python")
    data = yaml.safe_load((EXAMPLES / "fraud-detector" / "mlops.yaml").read_text(encoding="utf-8"))
    data["deploy"]["environments"][1]["approval"] = "manual"
    spec = tmp_path / "mlops.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["render", str(spec), "--out", str(out)]) == 0
    work, bare = tmp_path / "gitops-work", tmp_path / "gitops.git"
    shutil.copytree(out / data["deploy"]["gitops"].get("path", "apps/fraud-detector"), work / "apps/fraud-detector")
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", "--all", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit", "--quiet", "-m", "seed", cwd=work)
    git("clone", "--quiet", "--bare", str(work), str(bare))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "argocd").write_text(RECORDER, encoding="utf-8")
    (bin_dir / "argocd").chmod(0o755)
    return Setup(out, out / "ci/mlopsgen-release.sh", bare, tmp_path / "argocd.log", bin_dir)


def test_a_manual_environment_is_synced_to_the_pushed_commit_then_waited_for(setup: Setup) -> None:
    done = setup.run("promote", "production", "abc123", "10")
    assert done.returncode == 0, done.stdout + done.stderr
    head = setup.head()
    assert setup.calls() == [
        f"app sync fraud-detector-production --revision {head} --timeout 600 | head={head} | token=set",
        f"app wait fraud-detector-production --sync --health --operation --timeout 600 | head={head} | token=set"]
    assert "fraud-detector-production is synced and healthy" in done.stdout
    assert "argocd-secret" not in done.stdout + done.stderr


def test_an_automated_environment_is_refreshed_then_waited_for(setup: Setup) -> None:
    done = setup.run("promote", "staging", "abc123")
    assert done.returncode == 0, done.stdout + done.stderr
    head = setup.head()
    assert setup.calls() == [
        f"app get fraud-detector-staging --refresh | head={head} | token=set",
        f"app wait fraud-detector-staging --sync --health --operation --timeout 600 | head={head} | token=set"]


def test_the_wait_timeout_is_configurable(setup: Setup) -> None:
    assert setup.run("promote", "staging", "abc123", ARGOCD_WAIT_TIMEOUT="90").returncode == 0
    assert setup.calls()[-1].startswith("app wait fraud-detector-staging --sync --health --operation --timeout 90 ")


def test_an_unhealthy_application_fails_the_job(setup: Setup) -> None:
    done = setup.run("promote", "production", "abc123", "10", ARGOCD_WAIT_EXIT="20")
    assert done.returncode == 20
    assert "synced and healthy" not in done.stdout


def test_nothing_to_commit_still_waits_for_the_head(setup: Setup) -> None:
    assert setup.run("promote", "production", "abc123", "10").returncode == 0
    again = setup.run("promote", "production", "abc123", "10")
    assert again.returncode == 0 and "nothing to commit" in again.stdout
    assert setup.calls()[-2].startswith("app sync fraud-detector-production --timeout 600 ")


@pytest.mark.parametrize("missing", ["ARGOCD_SERVER", "ARGOCD_AUTH_TOKEN"])
def test_missing_argocd_settings_fail_before_anything_is_committed(setup: Setup, missing: str) -> None:
    before = setup.head()
    done = setup.run("promote", "production", "abc123", "10", **{missing: ""})
    assert done.returncode != 0
    assert f"{missing} is not set" in done.stderr
    assert setup.head() == before and setup.calls() == []


def test_the_wait_can_be_skipped_in_so_many_words(setup: Setup) -> None:
    before = setup.head()
    done = setup.run("promote", "production", "abc123", "10", MLOPSGEN_SKIP_ARGOCD="1", ARGOCD_AUTH_TOKEN="")
    assert done.returncode == 0, done.stderr
    assert setup.head() != before and setup.calls() == []
    assert "not waiting for Argo CD; an analysis may measure the previous version" in done.stderr


def test_an_unknown_environment_is_refused(setup: Setup) -> None:
    done = setup.run("promote", "qa", "abc123")
    assert done.returncode == 2 and "unknown environment qa (known: staging, production)" in done.stderr


def test_applications_sync_by_themselves_exactly_where_approval_is_auto(setup: Setup) -> None:
    apps = {p.name: yaml.safe_load(p.read_text(encoding="utf-8"))
            for p in (setup.root / "apps/fraud-detector/argocd").glob("application-*.yaml")}
    assert "automated" in apps["application-staging.yaml"]["spec"]["syncPolicy"]
    assert "automated" not in apps["application-production.yaml"]["spec"]["syncPolicy"]
    fraud = EXAMPLES / "fraud-detector/rendered/apps/fraud-detector/argocd/application-production.yaml"
    assert "automated" in yaml.safe_load(fraud.read_text(encoding="utf-8"))["spec"]["syncPolicy"]  # approval: auto


def test_jenkins_deploy_stages_get_the_argocd_token_from_credentials(setup: Setup) -> None:
    jenkinsfile = (EXAMPLES / "churn-predictor/rendered/Jenkinsfile").read_text(encoding="utf-8")
    binding = "string(credentialsId: 'argocd-token', variable: 'ARGOCD_AUTH_TOKEN')"
    release_calls = jenkinsfile.count("ci/mlopsgen-release.sh")
    assert release_calls and jenkinsfile.count(binding) == jenkinsfile.count("passwordVariable: 'GITOPS_TOKEN'")


def test_promote_through_gitlab_reports_the_commit_it_made(cli, gitlab_emulator: GitLabEmulator, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The revision the script hands to Argo CD when it commits through the GitLab API."""
    gl = gitlab_emulator
    spec = tmp_path / "mlops.yaml"
    spec.write_bytes((EXAMPLES / "fraud-detector/mlops.yaml").read_bytes())
    gl.create_project("risk/fraud-detector", files={"mlops.yaml": spec.read_bytes()})
    gl.create_project("platform/gitops", files={"README.md": b"x\n"})
    monkeypatch.setenv("GITLAB_TOKEN", next(iter(gl.tokens)))
    assert cli("sync", spec, "--gitlab-url", gl.url, "--project", "risk/fraud-detector",
               "--gitops-project", "platform/gitops").code == 0
    result = cli("promote", "--env", "staging", "--image-tag", "abc123", "--gitlab-url", gl.url,
                 "--project", "platform/gitops", "--spec", spec, "--format", "json")
    assert result.code == 0, result.text
    head = git("--git-dir", str(gl.repo_path("platform/gitops")), "rev-parse", "HEAD")
    assert json.loads(result.out)["revision"] == head


def test_a_two_step_rollback_commits_twice_and_waits_for_argocd_after_each(setup: Setup) -> None:
    """KServe serverless after a full promotion (generator/render/release.py rollback): the
    traffic goes back first, and only once Argo CD applied that, the image."""
    assert setup.run("promote", "production", "v1").returncode == 0
    assert setup.run("promote", "production", "v2").returncode == 0
    before = len(setup.calls())
    done = setup.run("rollback", "production")
    assert done.returncode == 0, done.stdout + done.stderr
    syncs = [c for c in setup.calls()[before:] if c.startswith("app sync")]
    waits = [c for c in setup.calls()[before:] if c.startswith("app wait")]
    assert len(syncs) == len(waits) == 2
    assert syncs[0].split(" | ")[0].split("--revision ")[1].split()[0] != syncs[1].split("--revision ")[1].split()[0]
    log = git("--git-dir", str(setup.bare), "log", "--format=%s", "-2")
    assert log.splitlines() == ["roll back fraud-detector in production (second step: the known-good image)",
                                "roll back fraud-detector in production"]
    assert setup.calls()[before:][1].startswith("app wait") and setup.calls()[before:][2].startswith("app sync")


@pytest.mark.parametrize("example", ["fraud-detector", "image-quality"])
def test_gitlab_runs_every_analysis_after_the_release_job_that_waited_for_argocd(example: str) -> None:
    """gitlab-ci-local evaluates the delivery pipeline: each analysis job needs the release job
    before it, whose script (ci/mlopsgen-release.sh) returns only once Argo CD is synced and
    healthy; the job after an analysis needs that analysis."""
    from conformance.validators import gitlab_ci_local_jobs

    pipeline = EXAMPLES / example / "rendered/.gitlab-ci.yml"
    jobs = {j["name"]: j for j in gitlab_ci_local_jobs(pipeline, {"CI_PIPELINE_SOURCE": "push"})}
    scripts = yaml.safe_load(pipeline.read_text(encoding="utf-8"))
    releases = {name for name, job in scripts.items()
                if isinstance(job, dict) and any("ci/mlopsgen-release.sh promote" in line
                                                 for line in job.get("script", []))}
    analyses = [name for name in jobs if name.startswith("analyze-")]
    assert analyses, f"{example} has no analysis jobs"
    for name in analyses:
        assert set(jobs[name]["needs"]) & releases, (name, jobs[name]["needs"])
    assert any(set(jobs[name]["needs"]) & set(analyses) for name in releases if name in jobs)  # the next step
