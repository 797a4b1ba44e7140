"""`mlopsgen sync` through python-gitlab against the GitLab emulator (real HTTP, real git)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import gitlab
import pytest
from conftest import EXAMPLES, CliResult
from emulators.gitlab import Fault, GitLabEmulator

pytest_plugins = ["emulators.fixtures"]

TOKEN = "glpat-SENTINEL-7f3a9c"
PROJECT = "risk/fraud-detector"
GITOPS = "platform/gitops"


@pytest.fixture
def gl(gitlab_emulator: GitLabEmulator, monkeypatch: pytest.MonkeyPatch) -> GitLabEmulator:
    gitlab_emulator.tokens[TOKEN] = "maintainer"
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.delenv("CI_JOB_TOKEN", raising=False)
    spec = (EXAMPLES / "fraud-detector/mlops.yaml").read_bytes()
    gitlab_emulator.create_project(PROJECT, files={"mlops.yaml": spec, "README.md": b"# fraud\n"})
    gitlab_emulator.create_project(GITOPS, files={"README.md": b"# gitops\n"})
    gitlab_emulator.reset_requests()
    return gitlab_emulator


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "checkout" / "mlops.yaml"
    path.parent.mkdir()
    path.write_bytes((EXAMPLES / "fraud-detector/mlops.yaml").read_bytes())
    return path


def sync(cli, gl: GitLabEmulator, spec: Path, *extra: str) -> CliResult:
    return cli("sync", spec, "--gitlab-url", gl.url, "--project", PROJECT, *extra)


def git(gl: GitLabEmulator, project: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(gl.repo_path(project)), *args], capture_output=True, text=True,
                          check=True).stdout


def api_requests(gl: GitLabEmulator) -> list[tuple[str, str]]:
    return [(m, p) for m, p in gl.requests if p.startswith("/api/v4/")]


def open_mrs(gl: GitLabEmulator) -> list[object]:
    client = gitlab.Gitlab(gl.url, private_token=TOKEN)
    return client.projects.get(PROJECT).mergerequests.list(state="opened", get_all=True)


def assert_no_partial_commit(gl: GitLabEmulator, ref: str = "main") -> None:
    """The branch holds either none of the generated files or all of them."""
    files = set(git(gl, PROJECT, "ls-tree", "-r", "--name-only", ref).split())
    generated = {".gitlab-ci.yml", "Dockerfile", ".dockerignore", ".mlopsgen/manifest.json", "ci/mlopsgen-release.sh"}
    assert files & generated in (set(), generated), files


def test_first_sync_is_one_commit_with_every_file(cli, gl: GitLabEmulator, spec: Path) -> None:
    result = sync(cli, gl, spec)
    assert result.code == 0, result.text
    assert git(gl, PROJECT, "log", "--format=%s", "main").splitlines() == [
        "mlopsgen 0.1.0: regenerate from mlops.yaml", "initial commit"] or \
        git(gl, PROJECT, "rev-list", "--count", "main").strip() == "2"
    tree = git(gl, PROJECT, "ls-tree", "-r", "main")
    assert "100755 blob" in next(line for line in tree.splitlines() if line.endswith("ci/mlopsgen-release.sh"))
    assert len(tree.splitlines()) == 26  # 24 generated + mlops.yaml + README.md


def test_unchanged_sync_takes_three_requests_and_commits_nothing(cli, gl: GitLabEmulator, spec: Path) -> None:
    assert sync(cli, gl, spec).code == 0
    head = gl.head(PROJECT, "main")
    gl.reset_requests()
    result = sync(cli, gl, spec, "--branch", "main")  # as the generated pipeline calls it
    assert result.code == 0 and "up to date" in result.out
    assert len(api_requests(gl)) == 3, gl.requests  # branch + tree + the retraining schedule (unchanged)
    gl.reset_requests()
    assert sync(cli, gl, spec).code == 0  # without --branch, one more to learn the default branch
    assert len(api_requests(gl)) == 4, gl.requests
    assert gl.head(PROJECT, "main") == head


def test_changed_sync_with_merge_request_takes_six_requests(cli, gl: GitLabEmulator, spec: Path) -> None:
    assert sync(cli, gl, spec).code == 0
    spec.write_text(spec.read_text().replace("maxReplicas: 10", "maxReplicas: 12"))
    gl.reset_requests()
    result = sync(cli, gl, spec, "--merge-request", "--branch", "main")
    assert result.code == 0, result.text
    # both branch heads (one listing), tree, the old manifest (blob ids: no generated file edited by hand),
    # commit, merge request, schedule (unchanged)
    assert len(api_requests(gl)) == 6, gl.requests
    assert "merge request !1 opened" in result.out
    (mr,) = open_mrs(gl)
    assert "apps/fraud-detector/base/inferenceservice.yaml" in mr.description
    assert "```mermaid\nflowchart LR" in mr.description


def test_merge_request_is_updated_never_duplicated(cli, gl: GitLabEmulator, spec: Path) -> None:
    assert sync(cli, gl, spec).code == 0
    spec.write_text(spec.read_text().replace("maxReplicas: 10", "maxReplicas: 12"))
    assert "merge request !1 opened" in sync(cli, gl, spec, "--merge-request").out
    spec.write_text(spec.read_text().replace("maxReplicas: 12", "maxReplicas: 13"))
    result = sync(cli, gl, spec, "--merge-request")
    assert result.code == 0 and "merge request !1 updated" in result.out, result.text
    assert len(open_mrs(gl)) == 1
    isvc = "apps/fraud-detector/base/inferenceservice.yaml"
    assert "maxReplicas: 10" in git(gl, PROJECT, "show", f"main:{isvc}")
    assert "maxReplicas: 13" in git(gl, PROJECT, "show", f"mlopsgen/update:{isvc}")
    # the branch is main plus one commit: never a pile of half-updates
    assert git(gl, PROJECT, "rev-list", "--count", "main..mlopsgen/update").strip() == "1"


def test_gitops_manifests_go_to_their_own_repository(cli, gl: GitLabEmulator, spec: Path) -> None:
    result = sync(cli, gl, spec, "--gitops-project", GITOPS)
    assert result.code == 0, result.text
    model = set(git(gl, PROJECT, "ls-tree", "-r", "--name-only", "main").split())
    gitops = set(git(gl, GITOPS, "ls-tree", "-r", "--name-only", "main").split())
    assert ".gitlab-ci.yml" in model and not any(p.startswith("apps/") for p in model)
    assert "apps/fraud-detector/base/inferenceservice.yaml" in gitops
    assert "apps/fraud-detector/.mlopsgen/manifest.json" in gitops and ".gitlab-ci.yml" not in gitops


def test_ci_lint_errors_stop_the_sync(cli, gl: GitLabEmulator, spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import emulators.gitlab as emulator

    monkeypatch.setattr(emulator, "lint_ci", lambda content: {"valid": False, "errors": ["jobs:lint config is broken"],
                                                               "warnings": [], "merged_yaml": "", "includes": []})
    result = sync(cli, gl, spec)
    assert result.code == 1
    assert "CI lint rejected" in result.err and "jobs:lint config is broken" in result.err
    assert_no_partial_commit(gl)
    assert git(gl, PROJECT, "rev-list", "--count", "main").strip() == "1"


def test_without_ci_lint_the_sync_goes_on(cli, gl: GitLabEmulator, spec: Path) -> None:
    gl.ci_lint_enabled = False
    assert sync(cli, gl, spec).code == 0


def test_bad_token_is_a_clear_error_without_the_token(cli, gl: GitLabEmulator, spec: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-WRONG-SENTINEL")
    result = sync(cli, gl, spec)
    assert result.code == 1 and "rejected the token" in result.err
    assert "SENTINEL" not in result.text


def test_unknown_project_is_a_clear_error(cli, gl: GitLabEmulator, spec: Path) -> None:
    result = cli("sync", spec, "--gitlab-url", gl.url, "--project", "risk/nope")
    assert result.code == 1 and "not found" in result.err


def concurrent_push(gl: GitLabEmulator):  # type: ignore[no-untyped-def]
    def push() -> None:
        gl.commit_directly(PROJECT, "main", {"NOTES.md": b"someone else\n"}, "concurrent")
    return push


@pytest.mark.parametrize("kind", ["429", "500", "502", "drop", "concurrent_commit"])
def test_a_fault_at_any_request_never_leaves_a_partial_change(cli, gl: GitLabEmulator, spec: Path, kind: str) -> None:
    """Inject the fault at every request position of a changed sync with a merge request."""
    assert sync(cli, gl, spec).code == 0
    spec.write_text(spec.read_text().replace("maxReplicas: 10", "maxReplicas: 12"))
    gl.reset_requests()
    assert sync(cli, gl, spec, "--merge-request", "--dry-run").code == 0
    positions = len(gl.requests) + 2  # the dry run stops before commit and merge request
    text = spec.read_text()
    for at in range(positions):
        replicas = 20 + at  # a change of its own each time: the merge-request branch does not hold it yet
        spec.write_text(text.replace("maxReplicas: 12", f"maxReplicas: {replicas}"))
        gl.reset_requests()
        fault = gl.inject(Fault(kind, at=at, callback=concurrent_push(gl) if kind == "concurrent_commit" else None))
        result = sync(cli, gl, spec, "--merge-request")
        assert fault.fired == 1, f"no request {at} in the sync"
        assert "Traceback" not in result.text
        assert TOKEN not in result.text
        if result.code != 0:
            assert result.err.startswith("mlopsgen: "), result.err
        assert_no_partial_commit(gl)
        assert_no_partial_commit(gl, "mlopsgen/update") if result.code == 0 else None
        # a rerun converges, and there is never more than one merge request
        rerun = sync(cli, gl, spec, "--merge-request")
        assert rerun.code == 0, rerun.text
        assert len(open_mrs(gl)) == 1
        assert f"minReplicas: 1\n    maxReplicas: {replicas}" in git(
            gl, PROJECT, "show", "mlopsgen/update:apps/fraud-detector/base/inferenceservice.yaml")
