"""The GitLab emulator, driven only through unmodified python-gitlab and checked with git on the bare repo."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable

import pytest

gitlab = pytest.importorskip("gitlab")
requests = pytest.importorskip("requests")

from emulators.gitlab import Fault, GitLabEmulator  # noqa: E402

pytest_plugins = ["emulators.fixtures"]

TOKEN = "test-token"
PROJECT = "acme/ml/fraud"
FILES = {"README.md": b"# fraud\n", "ci/build.sh": b"#!/bin/sh\necho build\n", "old.txt": b"old\n"}


def git(emu: GitLabEmulator, *args: str) -> str:
    cmd = ["git", f"--git-dir={emu.repo_path(PROJECT)}", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def client(emu: GitLabEmulator, **options: object) -> gitlab.Gitlab:
    options = {"private_token": TOKEN, "retry_transient_errors": True, **options}
    return gitlab.Gitlab(emu.url, **options)  # type: ignore[arg-type]


@pytest.fixture
def emu(gitlab_emulator: GitLabEmulator) -> GitLabEmulator:
    gitlab_emulator.create_project(PROJECT, files=FILES)
    return gitlab_emulator


@pytest.fixture
def project(emu: GitLabEmulator) -> object:
    return client(emu).projects.get(PROJECT)


def refs(emu: GitLabEmulator) -> str:
    return git(emu, "for-each-ref")


# ---- projects, groups, auth ---------------------------------------------------------------------


def test_project_by_path_and_empty_repo(emu: GitLabEmulator) -> None:
    gl = client(emu)
    proj = gl.projects.get(PROJECT)
    assert (proj.id, proj.path_with_namespace, proj.default_branch, proj.empty_repo) == (1, PROJECT, "main", False)
    assert proj.web_url == f"{emu.url}/{PROJECT}"
    assert ("GET", "/api/v4/projects/acme%2Fml%2Ffraud") in emu.requests  # raw path, %2F kept
    emu.create_project("acme/empty")
    assert gl.projects.get("acme/empty").empty_repo is True
    assert gl.user is None and gl.auth() is None and gl.user.username == "maintainer1"


def test_unknown_project_is_404(emu: GitLabEmulator) -> None:
    with pytest.raises(gitlab.GitlabGetError) as err:
        client(emu).projects.get("acme/nope")
    assert (err.value.response_code, err.value.error_message) == (404, "404 Project Not Found")


def test_bad_token_is_401(emu: GitLabEmulator) -> None:
    with pytest.raises(gitlab.GitlabAuthenticationError) as err:
        client(emu, private_token="wrong").projects.get(PROJECT)
    assert (err.value.response_code, err.value.error_message) == (401, "401 Unauthorized")


def test_other_token_kinds_and_anonymous(emu: GitLabEmulator) -> None:
    assert gitlab.Gitlab(emu.url, job_token=TOKEN).projects.get(PROJECT).id == 1
    assert gitlab.Gitlab(emu.url, oauth_token=TOKEN).projects.get(PROJECT).id == 1  # Authorization: Bearer
    anonymous = gitlab.Gitlab(emu.url)
    with pytest.raises(gitlab.GitlabGetError) as read:
        anonymous.projects.get(PROJECT)
    assert read.value.response_code == 404
    with pytest.raises(gitlab.GitlabAuthenticationError):
        anonymous.projects.get(1, lazy=True).commits.create(
            {"branch": "main", "commit_message": "m", "actions": [{"action": "delete", "file_path": "old.txt"}]})


def test_reporter_cannot_push(emu: GitLabEmulator) -> None:
    before = refs(emu)
    proj = client(emu, private_token="reporter-token").projects.get(PROJECT)
    assert proj.files.get("README.md", ref="main").decode() == FILES["README.md"]  # reads are fine
    with pytest.raises(gitlab.GitlabCreateError) as err:
        proj.commits.create({"branch": "main", "commit_message": "m",
                             "actions": [{"action": "delete", "file_path": "old.txt"}]})
    assert (err.value.response_code, err.value.error_message) == (
        403, "403 Forbidden - You are not allowed to push into this branch")
    assert refs(emu) == before


def test_group_projects_paginated_with_subgroups(gitlab_emulator: GitLabEmulator) -> None:
    for n in range(12):
        gitlab_emulator.create_project(f"acme/p{n:02d}")
    for n in range(5):
        gitlab_emulator.create_project(f"acme/team/q{n}")
    gitlab_emulator.create_project("other/x")
    group = client(gitlab_emulator).groups.get("acme")
    gitlab_emulator.reset_requests()
    direct = group.projects.list(get_all=True, per_page=5)
    assert sorted(p.path_with_namespace for p in direct) == [f"acme/p{n:02d}" for n in range(12)]
    assert len(gitlab_emulator.requests) == 3  # 5 + 5 + 2, following Link rel="next"
    assert len(group.projects.list(get_all=True, per_page=5, include_subgroups=True)) == 17
    with pytest.raises(gitlab.GitlabGetError):
        client(gitlab_emulator).groups.get("nope")


# ---- repository reads ---------------------------------------------------------------------------


def test_tree_get_all_follows_link_pagination(gitlab_emulator: GitLabEmulator) -> None:
    files = {f"models/m{n:03d}.yaml": f"model: {n}\n".encode() for n in range(130)}
    gitlab_emulator.create_project(PROJECT, files={**files, "README.md": b"hi\n"})
    proj = client(gitlab_emulator).projects.get(PROJECT)
    gitlab_emulator.reset_requests()
    tree = proj.repository_tree(recursive=True, ref="main", get_all=True)
    assert len(gitlab_emulator.requests) == 7  # 132 items, 20 per page
    listing = git(gitlab_emulator, "ls-tree", "-r", "-t", "main").splitlines()
    expected = {line.split("\t")[1]: line.split()[2] for line in listing}
    assert {item["path"]: item["id"] for item in tree} == expected
    assert [item["type"] for item in tree[:1]] == ["tree"] and tree[0]["mode"] == "040000"
    keyset = proj.repository_tree(recursive=True, pagination="keyset", per_page=100, get_all=True)
    assert keyset == tree
    assert len(proj.repository_tree(path="models", per_page=100, get_all=True)) == 130
    with pytest.raises(gitlab.GitlabGetError) as err:
        proj.repository_tree(ref="nope")
    assert err.value.error_message == "404 Tree Not Found"


def test_files_get_and_head(emu: GitLabEmulator, project: object) -> None:
    f = project.files.get("ci/build.sh", ref="main")
    assert f.decode() == FILES["ci/build.sh"]
    assert f.blob_id == subprocess.run(["git", "hash-object", "--stdin"], input=FILES["ci/build.sh"],
                                       capture_output=True, check=True).stdout.decode().strip()
    assert f.commit_id == f.last_commit_id == emu.head(PROJECT, "main")
    headers = project.files.head("ci/build.sh", "main")
    assert headers["X-Gitlab-Blob-Id"] == f.blob_id and headers["X-Gitlab-Size"] == str(len(FILES["ci/build.sh"]))
    assert project.files.raw("README.md", ref="main") == FILES["README.md"]
    for path, ref, message in [("nope.txt", "main", "404 File Not Found"), ("ci", "main", "404 File Not Found"),
                               ("README.md", "nope", "404 Commit Not Found")]:
        with pytest.raises(gitlab.GitlabGetError) as err:
            project.files.get(path, ref=ref)
        assert (err.value.response_code, err.value.error_message) == (404, message)
    with pytest.raises(gitlab.GitlabHeadError):
        project.files.head("nope.txt", "main")


def test_commits_list_and_branches(emu: GitLabEmulator, project: object) -> None:
    emu.commit_directly(PROJECT, "main", {"x.txt": b"x"}, "second")
    assert [c.title for c in project.commits.list(ref_name="main", get_all=True)] == ["second", "Initial commit"]
    assert project.commits.get(emu.head(PROJECT, "main")).stats["additions"] == 1
    branch = project.branches.create({"branch": "feature", "ref": "main"})
    assert branch.commit["id"] == emu.head(PROJECT, "feature") == emu.head(PROJECT, "main")
    assert [b.name for b in project.branches.list(get_all=True)] == ["feature", "main"]
    for data, message in [({"branch": "feature", "ref": "main"}, "Branch already exists"),
                          ({"branch": "x", "ref": "nope"},
                           "Failed to create branch 'x': invalid reference name 'nope'")]:
        with pytest.raises(gitlab.GitlabCreateError) as err:
            project.branches.create(data)
        assert (err.value.response_code, err.value.error_message) == (400, message)
    with pytest.raises(gitlab.GitlabGetError) as missing:
        project.branches.get("nope")
    assert missing.value.error_message == "404 Branch Not Found"


# ---- commits.create -----------------------------------------------------------------------------


def test_one_commit_with_create_update_delete(emu: GitLabEmulator, project: object) -> None:
    parent = emu.head(PROJECT, "main")
    commit = project.commits.create({
        "branch": "main", "commit_message": "sync: render pipelines",
        "actions": [
            {"action": "create", "file_path": "deploy/app.yaml", "content": "kind: App\n"},
            {"action": "update", "file_path": "README.md", "content": base64.b64encode(b"new\n").decode(),
             "encoding": "base64"},
            {"action": "delete", "file_path": "old.txt"},
        ]})
    assert commit.id == emu.head(PROJECT, "main") and commit.parent_ids == [parent]
    assert git(emu, "rev-list", "--count", "main") == "2\n"
    assert git(emu, "diff", "--name-status", parent, "main").split() == \
        ["M", "README.md", "A", "deploy/app.yaml", "D", "old.txt"]
    assert git(emu, "show", "main:README.md") == "new\n"
    assert commit.stats == {"additions": 2, "deletions": 2, "total": 4}


def test_new_branch_from_start_branch_then_move_and_chmod(emu: GitLabEmulator, project: object) -> None:
    project.commits.create({"branch": "feature", "start_branch": "main", "commit_message": "m", "actions": [
        {"action": "move", "previous_path": "old.txt", "file_path": "new.txt"},
        {"action": "chmod", "file_path": "ci/build.sh", "execute_filemode": True}]})
    assert git(emu, "show", "feature:new.txt") == "old\n"
    assert git(emu, "ls-tree", "feature", "ci/build.sh").startswith("100755")
    assert git(emu, "rev-parse", "feature^") == git(emu, "rev-parse", "main")


CHECK_CASES = [
    ({"branch": "main", "actions": [{"action": "create", "file_path": "README.md", "content": "x"}]},
     "A file with this name already exists"),
    ({"branch": "main", "actions": [{"action": "update", "file_path": "missing.md", "content": "x"}]},
     "A file with this name doesn't exist"),
    ({"branch": "main", "actions": [{"action": "create", "file_path": "ci", "content": "x"}]},
     "A directory with this name already exists"),
    ({"branch": "main", "actions": [{"action": "create", "file_path": "a/../b", "content": "x"}]},
     "Path cannot include directory traversal"),
    ({"branch": "feature", "actions": [{"action": "create", "file_path": "f", "content": "x"}]},
     "You can only create or edit files when you are on a branch"),
    ({"branch": "main", "start_branch": "nope", "actions": [{"action": "create", "file_path": "f", "content": "x"}]},
     "You can only create or edit files when you are on a branch"),
    ({"branch": "taken", "start_branch": "main", "actions": [{"action": "create", "file_path": "f", "content": "x"}]},
     "A branch called 'taken' already exists. Switch to that branch in order to make changes"),
    ({"branch": "main", "start_sha": "zzz", "actions": [{"action": "create", "file_path": "f", "content": "x"}]},
     "Invalid start_sha 'zzz'"),
    ({"branch": "x", "start_sha": "1234567", "actions": [{"action": "create", "file_path": "f", "content": "x"}]},
     "Cannot find start_sha '1234567'"),
]


@pytest.mark.parametrize(("data", "message"), CHECK_CASES, ids=[m for _, m in CHECK_CASES])
def test_commit_errors_leave_repo_unchanged(emu: GitLabEmulator, project: object, data: dict, message: str) -> None:
    emu.commit_directly(PROJECT, "taken", {"t": b"t"}, "someone's branch")
    before, objects = refs(emu), git(emu, "count-objects")
    with pytest.raises(gitlab.GitlabCreateError) as err:
        project.commits.create({"commit_message": "m", **data})
    assert (err.value.response_code, err.value.error_message) == (400, message)
    assert refs(emu) == before and git(emu, "count-objects") == objects


def test_last_commit_id_conflict_after_someone_else_pushed(emu: GitLabEmulator, project: object) -> None:
    seen = project.files.get("README.md", ref="main").last_commit_id
    emu.commit_directly(PROJECT, "main", {"README.md": b"theirs\n"}, "someone else")
    before = refs(emu)
    with pytest.raises(gitlab.GitlabCreateError) as err:
        project.commits.create({"branch": "main", "commit_message": "mine", "actions": [
            {"action": "update", "file_path": "README.md", "content": "mine\n", "last_commit_id": seen}]})
    assert (err.value.response_code, err.value.error_message) == (
        400, "The file has changed since you started editing it: README.md")
    assert refs(emu) == before
    # a change to another file does not conflict
    emu.commit_directly(PROJECT, "main", {"other.txt": b"o"}, "unrelated")
    current = project.files.get("README.md", ref="main").last_commit_id
    project.commits.create({"branch": "main", "commit_message": "mine", "actions": [
        {"action": "update", "file_path": "README.md", "content": "mine\n", "last_commit_id": current}]})
    assert git(emu, "show", "main:README.md") == "mine\n"


def test_concurrent_push_during_request_is_a_conflict(emu: GitLabEmulator, project: object) -> None:
    seen = emu.head(PROJECT, "main")
    emu.inject(Fault("concurrent_commit", match=("POST", r"/repository/commits$"),
                     callback=lambda: emu.commit_directly(PROJECT, "main", {"README.md": b"race\n"}, "race")))
    with pytest.raises(gitlab.GitlabCreateError) as err:
        project.commits.create({"branch": "main", "commit_message": "m", "actions": [
            {"action": "update", "file_path": "README.md", "content": "mine\n", "last_commit_id": seen}]})
    assert err.value.error_message == "The file has changed since you started editing it: README.md"
    assert git(emu, "show", "main:README.md") == "race\n"


def test_push_between_read_and_update_ref_fails_instead_of_overwriting(
        emu: GitLabEmulator, project: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """The branch moves after the emulator read it: `git update-ref <new> <old>` refuses, answer 400."""
    from emulators import gitlab as emulator_module

    original = emulator_module._Repo.write_commit

    def racing_write_commit(self: object, *args: object, **kwargs: object) -> str:
        monkeypatch.setattr(emulator_module._Repo, "write_commit", original)
        emu.commit_directly(PROJECT, "main", {"other.txt": b"race\n"}, "race")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(emulator_module._Repo, "write_commit", racing_write_commit)
    with pytest.raises(gitlab.GitlabCreateError) as err:
        project.commits.create({"branch": "main", "commit_message": "m",
                                "actions": [{"action": "update", "file_path": "README.md", "content": "mine\n"}]})
    assert (err.value.response_code, err.value.error_message) == (
        400, "The file has changed since you started editing it: README.md")
    assert git(emu, "log", "-1", "--format=%s", "main") == "race\n"
    assert git(emu, "show", "main:README.md") == FILES["README.md"].decode()


def test_parameter_errors(project: object) -> None:
    with pytest.raises(gitlab.GitlabCreateError) as err:
        project.commits.create({"branch": "main", "commit_message": "m",
                                "actions": [{"action": "rename", "file_path": "x"}]})
    assert (err.value.response_code, err.value.error_message) == (400, "actions[0][action] does not have a valid value")


# ---- merge requests -----------------------------------------------------------------------------


def test_merge_requests(emu: GitLabEmulator, project: object) -> None:
    emu.commit_directly(PROJECT, "sync", {"a": b"a"}, "sync")
    mr = project.mergerequests.create({"source_branch": "sync", "target_branch": "main", "title": "Sync",
                                       "labels": "gitops,bot", "remove_source_branch": True})
    assert (mr.iid, mr.state, mr.labels, mr.force_remove_source_branch) == (1, "opened", ["gitops", "bot"], True)
    with pytest.raises(gitlab.GitlabCreateError) as dup:
        project.mergerequests.create({"source_branch": "sync", "target_branch": "main", "title": "again"})
    assert dup.value.response_code == 409
    assert dup.value.error_message == ["Another open merge request already exists for this source branch: !1"]
    with pytest.raises(gitlab.GitlabCreateError) as same:
        project.mergerequests.create({"source_branch": "main", "target_branch": "main", "title": "x"})
    assert same.value.response_code == 422
    mr.title, mr.description = "Sync v2", "rendered"
    mr.save()
    found = project.mergerequests.list(state="opened", source_branch="sync", get_all=True)
    assert [(m.iid, m.title, m.description) for m in found] == [(1, "Sync v2", "rendered")]
    mr.state_event = "close"
    mr.save()
    assert project.mergerequests.get(1).state == "closed"
    assert project.mergerequests.list(state="opened", get_all=True) == []
    assert project.mergerequests.create({"source_branch": "sync", "target_branch": "main", "title": "t"}).iid == 2


# ---- faults -------------------------------------------------------------------------------------


def test_429_is_retried_after_retry_after(emu: GitLabEmulator) -> None:
    fault = emu.inject(Fault("429", match=("GET", r"/projects/"), retry_after=0))
    gl = client(emu, retry_transient_errors=False)  # 429 is retried by python-gitlab regardless
    emu.reset_requests()
    assert gl.projects.get(PROJECT).id == 1
    assert fault.fired == 1 and len(emu.requests) == 2


def test_429_headers(emu: GitLabEmulator) -> None:
    emu.inject(Fault("429", retry_after=0))
    response = requests.get(f"{emu.url}/api/v4/version", headers={"PRIVATE-TOKEN": TOKEN}, timeout=5)
    assert (response.status_code, response.text, response.headers["Retry-After"]) == (429, "Retry later\n", "0")
    assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-ResetTime"} <= set(response.headers)


@pytest.mark.parametrize("kind", ["500", "502"])
def test_transient_errors_retried_when_enabled(emu: GitLabEmulator, kind: str) -> None:
    emu.inject(Fault(kind, at=0))
    emu.reset_requests()
    assert client(emu).projects.get(PROJECT).id == 1
    assert len(emu.requests) == 2
    emu.inject(Fault(kind, times=1))
    with pytest.raises(gitlab.GitlabGetError) as err:
        client(emu, retry_transient_errors=False).projects.get(PROJECT)
    assert err.value.response_code == int(kind)


def test_dropped_connection(emu: GitLabEmulator) -> None:
    """python-gitlab retries a dropped connection only with retry_transient_errors=True; without it,
    requests' ConnectionError reaches the caller (it is not a GitlabError)."""
    emu.inject(Fault("drop", match=("GET", r"/projects/")))
    assert client(emu).projects.get(PROJECT).id == 1
    emu.inject(Fault("drop"))
    with pytest.raises(requests.exceptions.ConnectionError):
        client(emu, retry_transient_errors=False).projects.get(PROJECT)


# ---- CI lint ------------------------------------------------------------------------------------

LINT_CASES: list[tuple[str, Callable[[list[str]], bool]]] = [
    ("stages: [build]\nbuild:\n  stage: build\n  script: [make]\n.hidden: {}\n", lambda e: e == []),
    ("build:\n  stage: build\n",
     lambda e: e == ["jobs:build config should implement the script:, run:, or trigger: keyword"]),
    ("x:\n  script: [a]\n  needs: [y]\n", lambda e: e == ["jobs:x:needs config contains unknown job: y"]),
    ("a: [unclosed\n", lambda e: len(e) == 1 and e[0].startswith("(<unknown>)")),
    ("- just a list\n", lambda e: e == ["Invalid configuration format"]),
]


@pytest.mark.parametrize(("content", "check"), LINT_CASES)
def test_ci_lint(project: object, content: str, check: Callable[[list[str]], bool]) -> None:
    result = project.ci_lint.create({"content": content})
    assert check(result.errors) and result.valid is (result.errors == [])


def test_ci_lint_disabled(emu: GitLabEmulator, project: object) -> None:
    emu.ci_lint_enabled = False
    with pytest.raises(gitlab.GitlabCreateError) as err:
        project.ci_lint.create({"content": "x: {script: [a]}"})
    assert (err.value.response_code, err.value.error_message) == (404, "404 Not Found")
