"""`mlopsgen fleet` and API promotion against the GitLab emulator."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import gitlab
import pytest
from conftest import EXAMPLES, CliResult
from emulators.gitlab import Fault, GitLabEmulator, RateLimit

from generator.deliver.fleet import in_shard

pytest_plugins = ["emulators.fixtures"]

TOKEN = "glpat-FLEET-SENTINEL-91"
FRAUD = (EXAMPLES / "fraud-detector/mlops.yaml").read_bytes()
CHURN = (EXAMPLES / "churn-predictor/mlops.yaml").read_bytes()


@pytest.fixture
def gl(gitlab_emulator: GitLabEmulator, monkeypatch: pytest.MonkeyPatch) -> GitLabEmulator:
    gitlab_emulator.tokens[TOKEN] = "maintainer"
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.setenv("MLOPSGEN_GITLAB_RETRIES", "2")  # a repository that keeps failing fails fast
    return gitlab_emulator


def fleet(cli, gl: GitLabEmulator, *extra: object) -> CliResult:
    return cli("fleet", "--gitlab-url", gl.url, *extra)


def git(gl: GitLabEmulator, project: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(gl.repo_path(project)), *args], capture_output=True, text=True,
                          check=True).stdout


def make_fleet(gl: GitLabEmulator, count: int) -> list[str]:
    names = []
    for i in range(count):
        name = f"ml/team-{i % 3}/model-{i:02d}"
        gl.create_project(name, files={"mlops.yaml": FRAUD if i % 2 else CHURN})
        names.append(name)
    return names


def test_group_fleet_opens_one_merge_request_per_repository(cli, gl: GitLabEmulator, tmp_path: Path) -> None:
    names = make_fleet(gl, 5)
    gl.create_project("ml/no-spec", files={"README.md": b"x\n"})
    gl.create_project("ml/broken", files={"mlops.yaml": b"apiVersion: mlopsgen/v1\n"})
    report = tmp_path / "report.json"
    result = fleet(cli, gl, "--group", "ml", "--concurrency", "3", "--report", report)
    assert result.code == 1, result.text  # the broken spec fails, the others go on
    data = json.loads(report.read_text())
    statuses = {p["project"]: p["status"] for p in data["projects"]}
    assert statuses == {**dict.fromkeys(names, "changed"), "ml/no-spec": "skipped", "ml/broken": "failed"}
    broken = next(p for p in data["projects"] if p["project"] == "ml/broken")
    assert "invalid spec" in broken["detail"] and "ml/broken:mlops.yaml" in broken["detail"]
    for name in names:
        assert git(gl, name, "rev-list", "--count", "main..mlopsgen/update-0.1.0").strip() == "1"
        mrs = gitlab.Gitlab(gl.url, private_token=TOKEN).projects.get(name).mergerequests.list(state="opened")
        assert len(mrs) == 1
    assert "5 changed" in result.out and "1 failed" in result.out and "1 skipped" in result.out
    assert TOKEN not in result.text + report.read_text()


def test_unchanged_repositories_take_two_requests_each(cli, gl: GitLabEmulator, tmp_path: Path) -> None:
    names = make_fleet(gl, 4)
    listing = tmp_path / "projects.txt"
    listing.write_text("".join(f"{name} main\n" for name in names))
    assert fleet(cli, gl, "--projects-file", listing).code == 0
    for name in names:  # merge the proposals, as the owners would
        gl.commit_directly(name, "main", {p: git(gl, name, "show", f"mlopsgen/update-0.1.0:{p}").encode()
                                          for p in git(gl, name, "ls-tree", "-r", "--name-only",
                                                       "mlopsgen/update-0.1.0").split()}, "merge")
    gl.reset_requests()
    result = fleet(cli, gl, "--projects-file", listing, "--format", "json")
    assert result.code == 0, result.text
    assert {p["status"] for p in json.loads(result.out)["projects"]} == {"unchanged"}
    assert len(gl.requests) == 2 * len(names), gl.requests


def test_state_file_resumes_and_skips_finished_repositories(cli, gl: GitLabEmulator, tmp_path: Path) -> None:
    names = make_fleet(gl, 4)
    state = tmp_path / "state.json"
    broken = gl.inject(Fault("500", match=("GET", "model-02"), times=100))  # this one keeps failing
    first = fleet(cli, gl, "--group", "ml", "--state", state)
    assert first.code == 1
    saved = json.loads(state.read_text())["results"]
    assert saved["ml/team-2/model-02"]["status"] == "failed"
    broken.times = 0  # the outage is over
    gl.reset_requests()
    second = fleet(cli, gl, "--group", "ml", "--state", state)
    assert second.code == 0, second.text
    assert "3 already done" in second.err
    touched = {p for _m, p in gl.requests if "model-" in p}
    assert all("model-02" in p for p in touched), touched
    assert set(json.loads(state.read_text())["results"]) == set(names)


def test_shards_split_the_fleet_without_overlap(cli, gl: GitLabEmulator) -> None:
    names = make_fleet(gl, 9)
    seen: list[str] = []
    for k in (1, 2, 3):
        result = fleet(cli, gl, "--group", "ml", "--shard", f"{k}/3", "--dry-run", "--format", "json")
        assert result.code == 0, result.text
        part = [p["project"] for p in json.loads(result.out)["projects"]]
        assert part == sorted(n for n in names if in_shard(n, (k, 3)))
        seen += part
    assert sorted(seen) == sorted(names)


@pytest.mark.parametrize(("argv", "message"), [
    (["--group", "ml", "--projects-file", "x"], "exactly one of --group"),
    (["--group", "ml", "--shard", "4/3"], "K must be between 1 and N"),
    (["--group", "ml", "--shard", "x"], "is not K/N"),
    (["--group", "ml", "--blueprint-version", "9.9.9"], "but this is mlopsgen"),
])
def test_usage_mistakes(cli, gl: GitLabEmulator, argv: list[str], message: str) -> None:
    result = fleet(cli, gl, *argv)
    assert result.code == 1 and message in result.err


def test_promote_and_rollback_commit_through_the_api(cli, gl: GitLabEmulator, tmp_path: Path) -> None:
    spec = tmp_path / "mlops.yaml"
    spec.write_bytes(FRAUD)
    gl.create_project("risk/fraud-detector", files={"mlops.yaml": FRAUD})
    gl.create_project("platform/gitops", files={"README.md": b"gitops\n"})
    assert cli("sync", spec, "--gitlab-url", gl.url, "--project", "risk/fraud-detector",
               "--gitops-project", "platform/gitops").code == 0
    common = ["--gitlab-url", gl.url, "--project", "platform/gitops", "--spec", spec]
    before = git(gl, "platform/gitops", "rev-list", "--count", "main").strip()
    for tag in ("v1", "v2"):
        result = cli("promote", "--env", "production", "--image-tag", tag, *common)
        assert result.code == 0, result.text
    assert int(git(gl, "platform/gitops", "rev-list", "--count", "main")) == int(before) + 2  # one commit each
    release = git(gl, "platform/gitops", "show", "main:apps/fraud-detector/overlays/production/release.yaml")
    assert "fraud-detector:v2" in release
    first = cli("rollback", "--env", "production", *common)  # KServe serverless: traffic first, then the image
    assert first.code == 0 and "traffic back on last known-good registry.gitlab.com/acme/risk/fraud-detector:v1" \
        in first.out
    result = cli("rollback", "--env", "production", *common)
    assert result.code == 0 and "to last known-good registry.gitlab.com/acme/risk/fraud-detector:v1" in result.out
    log = git(gl, "platform/gitops", "log", "--format=%s", "-2", "main").splitlines()
    assert log[0].startswith("roll back production") and log[1].startswith("roll back production: traffic back")
    assert TOKEN not in first.text + result.text


def test_promote_and_rollback_default_to_the_branch_argo_cd_tracks(cli, gl: GitLabEmulator, tmp_path: Path) -> None:
    """Without --branch, promote and rollback commit to deploy.gitops.branch, where sync put the
    manifests, not to the GitOps repository's default branch."""
    spec = tmp_path / "mlops.yaml"
    text = FRAUD.replace(b"    branch: main\n", b"    branch: production\n", 1)
    spec.write_bytes(text)
    gl.create_project("risk/fraud-detector", files={"mlops.yaml": text})
    gl.create_project("platform/gitops", files={"README.md": b"gitops\n"})
    gl.commit_directly("platform/gitops", "production", {"README.md": b"production\n"}, "the tracked branch")
    assert cli("sync", spec, "--gitlab-url", gl.url, "--project", "risk/fraud-detector",
               "--gitops-project", "platform/gitops").code == 0
    main = gl.head("platform/gitops", "main")
    common = ["--gitlab-url", gl.url, "--project", "platform/gitops", "--spec", spec]
    assert cli("promote", "--env", "production", "--image-tag", "v1", *common).code == 0
    assert cli("rollback", "--env", "production", *common).code == 0
    assert gl.head("platform/gitops", "main") == main
    assert git(gl, "platform/gitops", "log", "--format=%s", "-1", "production").startswith("roll back production")


def test_a_rerun_with_the_merge_requests_open_takes_three_requests_and_writes_nothing(cli, gl: GitLabEmulator,
                                                                                      tmp_path: Path) -> None:
    names = make_fleet(gl, 3)
    listing = tmp_path / "projects.txt"
    listing.write_text("".join(f"{name} main\n" for name in names))
    assert fleet(cli, gl, "--projects-file", listing).code == 0
    heads = {name: gl.head(name, "mlopsgen/update-0.1.0") for name in names}
    gl.reset_requests()
    result = fleet(cli, gl, "--projects-file", listing, "--format", "json")
    assert result.code == 0, result.text
    assert {p["status"] for p in json.loads(result.out)["projects"]} == {"unchanged"}
    # the spec (with its commit), the tree, the proposal's head: nothing written, no merge request touched
    assert len(gl.requests) == 3 * len(names), gl.requests
    assert all(method == "GET" for method, _ in gl.requests)
    assert {name: gl.head(name, "mlopsgen/update-0.1.0") for name in names} == heads


def test_the_fleet_spends_the_rate_limit_without_running_into_it(cli, gl: GitLabEmulator, tmp_path: Path) -> None:
    """GitLab's RateLimit-* headers pace the workers: more requests than one window allows, and
    not one 429 (each would cost a Retry-After wait in python-gitlab)."""
    names = make_fleet(gl, 6)
    listing = tmp_path / "projects.txt"
    listing.write_text("".join(f"{name} main\n" for name in names))
    gl.rate_limit = RateLimit(limit=12, period=1.0)
    result = fleet(cli, gl, "--projects-file", listing, "--concurrency", "8", "--format", "json")
    assert result.code == 0, result.text
    assert {p["status"] for p in json.loads(result.out)["projects"]} == {"changed"}
    assert len(gl.requests) > 2 * gl.rate_limit.limit  # it took at least three windows
    assert gl.rate_limit.throttled == 0


def test_a_429_without_headers_on_other_answers_is_waited_out(cli, gl: GitLabEmulator, tmp_path: Path) -> None:
    """A server that sends RateLimit headers only with its 429s (GitLab before MR 209485): python-gitlab
    waits Retry-After and the run completes."""
    [name] = make_fleet(gl, 1)
    listing = tmp_path / "projects.txt"
    listing.write_text(f"{name} main\n")
    fault = gl.inject(Fault("429", at=1, times=1, retry_after=0))
    assert fleet(cli, gl, "--projects-file", listing).code == 0
    assert fault.fired == 1


def test_a_changed_repository_takes_five_requests_and_ci_lint_one_more(cli, gl: GitLabEmulator,
                                                                       tmp_path: Path) -> None:
    """spec, tree, merge-request branch, commit, merge request; --ci-lint adds the host's lint."""
    names = make_fleet(gl, 2)
    for name, extra in zip(names, ([], ["--ci-lint"]), strict=True):
        listing = tmp_path / "projects.txt"
        listing.write_text(f"{name} main\n")
        gl.reset_requests()
        assert fleet(cli, gl, "--projects-file", listing, *extra).code == 0
        lints = [path for method, path in gl.requests if path.endswith("/ci/lint")]
        assert (len(gl.requests), len(lints)) == ((6, 1) if extra else (5, 0)), gl.requests


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "log"])
def test_progress_is_a_bar_with_an_eta_on_a_terminal_and_a_line_per_repository_elsewhere(tty: bool) -> None:
    from generator.commands.fleet import Progress
    from generator.deliver.fleet import ProjectResult

    ticks = iter([0.0, 10.0, 20.0, 30.0, 40.0])  # a clock that moves 10 s per finished repository
    stream = _Stream(tty)
    progress = Progress(stream, clock=lambda: next(ticks))
    results = [ProjectResult("ml/a", "changed"), ProjectResult("ml/b", "failed", "invalid spec"),
               ProjectResult("ml/c", "unchanged"), ProjectResult("ml/d", "changed")]
    for done, result in enumerate(results, start=1):
        progress(result, done, len(results))
    out = stream.getvalue()
    if tty:
        assert "1/4 (1 changed) ETA 30s" in out.split("\r")[1]  # after the first of four, at 10 s each
        assert "failed       ml/b: invalid spec\n" in out  # a failure keeps its own line
        assert out.endswith("4/4 (2 changed, 1 failed, 1 unchanged) in 40s\n")
    else:
        assert "\r" not in out and "ETA" not in out
        assert out.splitlines() == ["1/4 changed      ml/a", "2/4 failed       ml/b: invalid spec",
                                    "3/4 unchanged    ml/c", "4/4 changed      ml/d"]
