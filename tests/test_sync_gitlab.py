"""`mlopsgen sync` through python-gitlab against the GitLab emulator (real HTTP, real git)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import gitlab
import pytest
import yaml
from conftest import EXAMPLES, FRAUD_FILES, CliResult
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
    assert len(tree.splitlines()) == FRAUD_FILES + 2  # generated + mlops.yaml + README.md


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


# --- idempotent merge-request syncs (issue 10) -------------------------------------------------------

ISVC = "apps/fraud-detector/base/inferenceservice.yaml"


def writes(gl: GitLabEmulator) -> list[tuple[str, str]]:
    return [(m, p) for m, p in api_requests(gl) if m != "GET"]


def open_merge_request(cli, gl: GitLabEmulator, spec: Path, replicas: int = 12) -> None:  # type: ignore[no-untyped-def]
    assert sync(cli, gl, spec).code == 0
    spec.write_text(spec.read_text().replace("maxReplicas: 10", f"maxReplicas: {replicas}"))
    result = sync(cli, gl, spec, "--merge-request", "--branch", "main")
    assert result.code == 0 and "merge request !1 opened" in result.out, result.text


def test_rerun_with_its_merge_request_open_commits_nothing_and_leaves_the_request_alone(cli, gl: GitLabEmulator,
                                                                                          spec: Path) -> None:
    open_merge_request(cli, gl, spec)
    heads = (gl.head(PROJECT, "main"), gl.head(PROJECT, "mlopsgen/update"))
    (mr,) = open_mrs(gl)
    gl.reset_requests()
    result = sync(cli, gl, spec, "--merge-request", "--branch", "main")
    assert result.code == 0, result.text
    assert result.out.splitlines()[0] == ("risk/fraud-detector: up to date on main, nothing to commit "
                                          "(mlopsgen/update already proposes these changes)")
    # both heads in one listing, the retraining schedule: no tree, no commit, no merge-request update
    assert len(api_requests(gl)) <= 3 and writes(gl) == [], api_requests(gl)
    assert (gl.head(PROJECT, "main"), gl.head(PROJECT, "mlopsgen/update")) == heads
    (again,) = open_mrs(gl)
    assert (again.iid, again.description, again.updated_at) == (mr.iid, mr.description, mr.updated_at)


def test_a_changed_spec_gives_one_new_commit_on_the_merge_request_branch(cli, gl: GitLabEmulator,
                                                                          spec: Path) -> None:
    open_merge_request(cli, gl, spec)
    before = gl.head(PROJECT, "mlopsgen/update")
    spec.write_text(spec.read_text().replace("maxReplicas: 12", "maxReplicas: 14"))
    result = sync(cli, gl, spec, "--merge-request", "--branch", "main")
    assert result.code == 0 and "merge request !1 updated" in result.out, result.text
    assert gl.head(PROJECT, "mlopsgen/update") != before
    assert git(gl, PROJECT, "rev-list", "--count", "main..mlopsgen/update").strip() == "1"
    assert "maxReplicas: 14" in git(gl, PROJECT, "show", f"mlopsgen/update:{ISVC}")
    assert len(open_mrs(gl)) == 1


def test_a_moved_target_rebuilds_the_branch_only_when_its_content_would_differ(cli, gl: GitLabEmulator,
                                                                                spec: Path) -> None:
    open_merge_request(cli, gl, spec)
    proposed = gl.head(PROJECT, "mlopsgen/update")
    gl.commit_directly(PROJECT, "main", {"NOTES.md": b"unrelated work\n"}, "someone else's change")
    gl.reset_requests()
    result = sync(cli, gl, spec, "--merge-request", "--branch", "main")
    assert result.code == 0 and "already proposes these changes" in result.out, result.text
    assert writes(gl) == [] and gl.head(PROJECT, "mlopsgen/update") == proposed
    # main takes one of the proposed files as it is: the proposal shrinks, so the branch is rebuilt
    gl.commit_directly(PROJECT, "main", {ISVC: git(gl, PROJECT, "show", f"mlopsgen/update:{ISVC}").encode()},
                       "partial merge")
    result = sync(cli, gl, spec, "--merge-request", "--branch", "main")
    assert result.code == 0 and "merge request !1 updated" in result.out, result.text
    assert git(gl, PROJECT, "rev-parse", "mlopsgen/update^").strip() == gl.head(PROJECT, "main")
    assert ISVC not in git(gl, PROJECT, "diff", "--name-only", "main", "mlopsgen/update").split()


def test_a_merge_request_branch_with_someone_elses_commit_is_not_replaced(cli, gl: GitLabEmulator,
                                                                           spec: Path) -> None:
    open_merge_request(cli, gl, spec)
    theirs = gl.commit_directly(PROJECT, "mlopsgen/update", {"NOTES.md": b"review fix\n"}, "fix the notes")
    spec.write_text(spec.read_text().replace("maxReplicas: 12", "maxReplicas: 14"))
    result = sync(cli, gl, spec, "--merge-request", "--branch", "main")
    assert result.code == 1
    assert result.err == (
        f"mlopsgen: risk/fraud-detector: branch mlopsgen/update holds a commit mlopsgen did not make "
        f"({theirs[:12]}: 'fix the notes'); mlopsgen replaces that branch on every run, which would drop it\n"
        "    hint: merge or move that work to another branch, or delete mlopsgen/update; --force replaces it "
        "anyway\n")
    assert gl.head(PROJECT, "mlopsgen/update") == theirs
    assert sync(cli, gl, spec, "--merge-request", "--branch", "main", "--force").code == 0
    assert "maxReplicas: 14" in git(gl, PROJECT, "show", f"mlopsgen/update:{ISVC}")


def test_a_hand_edit_on_the_branch_is_never_overwritten_silently(cli, gl: GitLabEmulator, spec: Path) -> None:
    assert sync(cli, gl, spec).code == 0
    dockerfile = git(gl, PROJECT, "show", "main:Dockerfile")
    edited = dockerfile.replace("USER ", "# tuned by hand\nUSER ", 1)
    assert edited != dockerfile
    head = gl.commit_directly(PROJECT, "main", {"Dockerfile": edited.encode()}, "tune the image")
    gl.reset_requests()
    result = sync(cli, gl, spec, "--branch", "main")
    assert result.code == 1, result.text
    first, diff = result.err.split("\n", 1)
    assert first == ("mlopsgen: risk/fraud-detector: 1 generated file(s) were edited by hand since mlopsgen wrote "
                     "them: Dockerfile; this diff shows what would be lost")
    assert diff.startswith("--- a/Dockerfile\n+++ b/Dockerfile\n") and "\n-# tuned by hand\n" in diff
    assert diff.endswith("    hint: move the edits into the spec (or a file mlopsgen does not generate), then run "
                         "again; --force overwrites or deletes them anyway\n")
    assert writes(gl) == [] and gl.head(PROJECT, "main") == head
    assert sync(cli, gl, spec, "--branch", "main", "--force").code == 0
    assert git(gl, PROJECT, "show", "main:Dockerfile") == dockerfile


def test_a_stale_checkout_never_reverts_a_newer_spec_on_the_branch(cli, gl: GitLabEmulator, tmp_path: Path) -> None:
    checkout = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(gl.repo_path(PROJECT)), str(checkout)], check=True)
    newer = (checkout / "mlops.yaml").read_text().replace("maxReplicas: 10", "maxReplicas: 30")
    head = gl.commit_directly(PROJECT, "main", {"mlops.yaml": newer.encode()}, "more replicas")
    result = cli("sync", checkout / "mlops.yaml", "--gitlab-url", gl.url, "--project", PROJECT, "--branch", "main")
    assert result.code == 1
    assert result.err == ("mlopsgen: risk/fraud-detector: mlops.yaml on main has changed since this checkout's "
                          "version of it; committing the rendered files (and this spec) would revert that change\n"
                          "    hint: pull main, merge your changes to mlops.yaml, then sync again\n")
    assert gl.head(PROJECT, "main") == head


def test_a_spec_edited_in_the_checkout_is_committed_with_its_files(cli, gl: GitLabEmulator, spec: Path) -> None:
    assert sync(cli, gl, spec).code == 0
    spec.write_text(spec.read_text().replace("maxReplicas: 10", "maxReplicas: 16"))
    result = sync(cli, gl, spec, "--branch", "main")
    assert result.code == 0, result.text
    assert "  update  mlops.yaml" in result.out
    assert git(gl, PROJECT, "show", "main:mlops.yaml") == spec.read_text()
    assert "maxReplicas: 16" in git(gl, PROJECT, "show", f"main:{ISVC}")


def test_gitops_manifests_go_to_the_branch_argo_cd_tracks(cli, gl: GitLabEmulator, spec: Path) -> None:
    """deploy.gitops.branch: production is the targetRevision of the Applications and the release
    script's branch: the manifests must land there, not on the GitOps repository's default branch."""
    spec.write_text(spec.read_text().replace("    branch: main\n", "    branch: production\n", 1))
    main_before = gl.head(GITOPS, "main")
    gl.commit_directly(GITOPS, "production", {"README.md": b"# production\n"}, "the branch Argo CD tracks")
    result = sync(cli, gl, spec, "--gitops-project", GITOPS)
    assert result.code == 0, result.text
    assert "platform/gitops: changed" in result.out and "file(s) on production" in result.out
    assert gl.head(GITOPS, "main") == main_before
    production = set(git(gl, GITOPS, "ls-tree", "-r", "--name-only", "production").split())
    assert "apps/fraud-detector/base/inferenceservice.yaml" in production
    applications = sorted(p for p in production if "/argocd/application-" in p)
    assert applications
    for path in applications:
        application = yaml.safe_load(git(gl, GITOPS, "show", f"production:{path}"))
        assert application["spec"]["source"]["targetRevision"] == "production", path
