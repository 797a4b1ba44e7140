"""`mlopsgen sync` keeps the GitLab pipeline schedule that runs the retraining in step with
`training.triggers.schedule`, through python-gitlab against the GitLab emulator."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import gitlab
import pytest
import requests
import yaml
from conftest import EXAMPLES, CliResult, edit_text
from emulators.gitlab import Fault, GitLabEmulator

pytest_plugins = ["emulators.fixtures"]

TOKEN = "glpat-SCHEDULE-SENTINEL-3c1d"
OTHER = "glpat-OTHER-MAINTAINER-77"
DEVELOPER = "glpat-DEVELOPER-SENTINEL-19"
PROJECT = "risk/fraud-detector"
OURS = "mlopsgen: retrain fraud-detector"
WRITES = ("POST", "PUT", "DELETE")


@pytest.fixture
def gl(gitlab_emulator: GitLabEmulator, monkeypatch: pytest.MonkeyPatch) -> GitLabEmulator:
    gitlab_emulator.tokens.update({TOKEN: "maintainer", OTHER: "maintainer", DEVELOPER: "developer"})
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.delenv("CI_JOB_TOKEN", raising=False)
    gitlab_emulator.create_project(PROJECT, files={"mlops.yaml": (EXAMPLES / "fraud-detector/mlops.yaml").read_bytes()})
    gitlab_emulator.reset_requests()
    return gitlab_emulator


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "checkout" / "mlops.yaml"
    path.parent.mkdir()
    shutil.copyfile(EXAMPLES / "fraud-detector/mlops.yaml", path)
    return path


def sync(cli, gl: GitLabEmulator, spec: Path, *extra: str) -> CliResult:
    return cli("sync", spec, "--gitlab-url", gl.url, "--project", PROJECT, *extra)


def schedule_requests(gl: GitLabEmulator) -> list[tuple[str, str]]:
    return [(m, p) for m, p in gl.requests if "/pipeline_schedules" in p]


def ours(gl: GitLabEmulator) -> list[dict[str, object]]:
    return [s for s in gl.pipeline_schedules(PROJECT) if s["description"] == OURS]


def without_training(spec: Path) -> None:
    data = yaml.safe_load(spec.read_text())
    del data["training"]
    spec.write_text(yaml.safe_dump(data, sort_keys=False))


def test_first_sync_creates_the_schedule(cli, gl: GitLabEmulator, spec: Path) -> None:
    result = sync(cli, gl, spec)
    assert result.code == 0, result.text
    assert f"{PROJECT}: schedule: created '{OURS}' (0 3 * * 1 UTC on main)" in result.out
    (schedule,) = gl.pipeline_schedules(PROJECT)
    assert {k: schedule[k] for k in ("description", "ref", "cron", "cron_timezone", "active")} == {
        "description": OURS, "ref": "refs/heads/main", "cron": "0 3 * * 1", "cron_timezone": "UTC", "active": True}
    assert schedule["next_run_at"]
    # the files first (the schedule runs the pipeline they define), then the schedule
    methods = [(m, p.split("?")[0].rsplit("/", 1)[-1]) for m, p in gl.requests if m in WRITES]
    assert methods == [("POST", "lint"), ("POST", "commits"), ("POST", "pipeline_schedules")]


@pytest.mark.parametrize("refs", ["full", "as-given"])
def test_unchanged_sync_adds_one_get_and_writes_nothing(cli, gl: GitLabEmulator, spec: Path, refs: str) -> None:
    """GitLab 16.x and later answer refs/heads/main for the short ref sent; older ones, main."""
    gl.schedule_refs = refs
    assert sync(cli, gl, spec).code == 0
    assert ours(gl)[0]["ref"] == ("refs/heads/main" if refs == "full" else "main")
    gl.reset_requests()
    result = sync(cli, gl, spec, "--branch", "main")  # as the generated pipeline calls it
    assert result.code == 0, result.text
    assert "up to date on main, nothing to commit" in result.out
    assert f"schedule: unchanged '{OURS}'" in result.out
    assert not [r for r in gl.requests if r[0] in WRITES], gl.requests
    assert len(gl.requests) == 3, gl.requests  # branch, tree, and the one schedule list
    assert schedule_requests(gl) == [("GET", "/api/v4/projects/risk%2Ffraud-detector/pipeline_schedules?per_page=100")]


def test_a_changed_cron_updates_the_schedule(cli, gl: GitLabEmulator, spec: Path) -> None:
    assert sync(cli, gl, spec).code == 0
    (before,) = ours(gl)
    edit_text(spec, 'schedule: "0 3 * * 1"', 'schedule: "30 4 * * 2"')
    gl.reset_requests()
    result = sync(cli, gl, spec, "--format", "json")
    assert result.code == 0, result.text
    report = json.loads(result.out)["schedule"]
    assert report["status"] == "updated" and report["id"] == before["id"]
    assert report["changes"] == {"cron": {"from": "0 3 * * 1", "to": "30 4 * * 2"}}
    assert [m for m, _ in schedule_requests(gl)] == ["GET", "PUT"]
    (after,) = ours(gl)
    assert after["id"] == before["id"] and after["cron"] == "30 4 * * 2"
    assert after["next_run_at"] != before["next_run_at"]


def test_a_schedule_edited_by_hand_is_put_back(cli, gl: GitLabEmulator, spec: Path) -> None:
    assert sync(cli, gl, spec).code == 0
    client = gitlab.Gitlab(gl.url, private_token=TOKEN).projects.get(PROJECT, lazy=True)
    client.pipelineschedules.update(ours(gl)[0]["id"], {"active": False, "cron_timezone": "Europe/Berlin"})
    result = sync(cli, gl, spec)
    assert result.code == 0, result.text
    assert "schedule: updated" in result.out
    assert "cron_timezone Europe/Berlin -> UTC, active False -> True" in result.out
    (schedule,) = ours(gl)
    assert schedule["active"] is True and schedule["cron_timezone"] == "UTC"


def test_removing_the_training_section_deletes_the_schedule(cli, gl: GitLabEmulator, spec: Path) -> None:
    assert sync(cli, gl, spec).code == 0
    without_training(spec)
    gl.reset_requests()
    result = sync(cli, gl, spec)
    assert result.code == 0, result.text
    assert f"schedule: deleted '{OURS}'" in result.out
    assert ours(gl) == []
    assert [m for m, _ in schedule_requests(gl)] == ["GET", "DELETE"]
    gl.reset_requests()  # and then: one list, nothing to say
    result = sync(cli, gl, spec)
    assert "schedule:" not in result.out
    assert [m for m, _ in schedule_requests(gl)] == ["GET"]


def test_someone_elses_schedules_are_never_touched(cli, gl: GitLabEmulator, spec: Path) -> None:
    gl.add_pipeline_schedule(PROJECT, description="nightly export", ref="refs/heads/main", cron="0 1 * * *",
                             owner_token=OTHER)
    gl.add_pipeline_schedule(PROJECT, description="mlopsgen: retrain another-model", ref="main", cron="0 2 * * *",
                             owner_token=OTHER)
    theirs = gl.pipeline_schedules(PROJECT)
    assert sync(cli, gl, spec).code == 0
    edit_text(spec, 'schedule: "0 3 * * 1"', 'schedule: "30 4 * * 2"')
    assert sync(cli, gl, spec).code == 0
    assert len(ours(gl)) == 1
    without_training(spec)
    assert sync(cli, gl, spec).code == 0
    assert gl.pipeline_schedules(PROJECT) == theirs
    touched = {p.split("?")[0].rsplit("/", 1)[-1] for m, p in schedule_requests(gl) if m in ("PUT", "DELETE")}
    assert touched.isdisjoint({str(s["id"]) for s in theirs})


def test_duplicates_of_ours_collapse_into_one(cli, gl: GitLabEmulator, spec: Path) -> None:
    first = gl.add_pipeline_schedule(PROJECT, description=OURS, ref="refs/heads/release", cron="0 3 * * 1",
                                     owner_token=TOKEN)
    second = gl.add_pipeline_schedule(PROJECT, description=OURS, ref="refs/heads/main", cron="0 3 * * 1",
                                      owner_token=TOKEN)
    result = sync(cli, gl, spec)
    assert result.code == 0, result.text
    assert f"duplicates removed: #{first}" in result.out
    assert [s["id"] for s in ours(gl)] == [second]  # the one on the target branch stays


def test_dry_run_reports_and_writes_nothing(cli, gl: GitLabEmulator, spec: Path) -> None:
    result = sync(cli, gl, spec, "--dry-run")
    assert result.code == 0, result.text
    assert f"schedule: would create '{OURS}' (0 3 * * 1 UTC on main)" in result.out
    assert not [r for r in gl.requests if r[0] in WRITES]
    assert gl.pipeline_schedules(PROJECT) == []
    assert sync(cli, gl, spec).code == 0
    created = gl.pipeline_schedules(PROJECT)
    edit_text(spec, 'schedule: "0 3 * * 1"', 'schedule: "30 4 * * 2"')
    gl.reset_requests()
    report = json.loads(sync(cli, gl, spec, "--dry-run", "--format", "json").out)["schedule"]
    assert report["status"] == "would-update" and report["changes"]["cron"]["to"] == "30 4 * * 2"
    without_training(spec)
    assert "schedule: would delete" in sync(cli, gl, spec, "--dry-run").out
    assert not [r for r in gl.requests if r[0] in WRITES]
    assert gl.pipeline_schedules(PROJECT) == created


def test_a_developer_token_is_a_clear_error_without_the_token(cli, gl: GitLabEmulator, spec: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """GitLab protects the default branch by default, and a Developer may not schedule a protected
    ref: the save service refuses with a 400 'not authorized'. Editing a schedule someone else owns
    is a 403 for a Developer, who may not take ownership either."""
    monkeypatch.setenv("GITLAB_TOKEN", DEVELOPER)
    result = sync(cli, gl, spec)
    assert result.code == 1
    assert "Maintainer role" in result.err and "api scope" in result.err
    assert "not authorized to create the pipeline schedule" in result.err
    assert "the generated files were committed" in result.err  # what did happen
    assert "Traceback" not in result.text and DEVELOPER not in result.text
    assert gl.pipeline_schedules(PROJECT) == []

    gl.add_pipeline_schedule(PROJECT, description=OURS, ref="refs/heads/main", cron="0 9 * * *", owner_token=OTHER)
    result = sync(cli, gl, spec)
    assert result.code == 1 and "GitLab refused (403" in result.err and "Maintainer role" in result.err
    assert DEVELOPER not in result.text
    assert ours(gl)[0]["cron"] == "0 9 * * *"


def test_a_maintainer_takes_ownership_of_ours_to_update_it(cli, gl: GitLabEmulator, spec: Path) -> None:
    """Only a schedule's owner may edit it: after a token change, the new token's user takes it over."""
    gl.add_pipeline_schedule(PROJECT, description=OURS, ref="refs/heads/main", cron="0 9 * * *", owner_token=OTHER)
    previous = ours(gl)[0]["owner"]
    result = sync(cli, gl, spec)
    assert result.code == 0, result.text
    assert f"took ownership from @{previous['username']}" in result.out
    (schedule,) = ours(gl)
    assert schedule["cron"] == "0 3 * * 1" and schedule["owner"] != previous
    assert [m for m, _ in schedule_requests(gl)] == ["GET", "PUT", "POST", "PUT"]


def test_merge_request_sync_of_the_default_branch_sets_the_schedule(cli, gl: GitLabEmulator, spec: Path) -> None:
    """The generated mlopsgen-sync job runs `sync --merge-request` on main after the spec changed there:
    the spec has landed, only the generated files are proposed, and a cron-only change alters none
    of them, so this sync is where the schedule follows the spec."""
    result = sync(cli, gl, spec, "--merge-request")
    assert result.code == 0, result.text
    (schedule,) = ours(gl)
    assert schedule["cron"] == "0 3 * * 1"
    edit_text(spec, '    schedule: "0 3 * * 1"\n', '    schedule: "30 2 * * *"\n')
    report = json.loads(sync(cli, gl, spec, "--merge-request", "--format", "json").out)
    assert report["schedule"]["status"] == "updated"
    assert ours(gl)[0]["cron"] == "30 2 * * *"


def test_moving_retraining_to_airflow_removes_the_schedule(cli, gl: GitLabEmulator, spec: Path) -> None:
    """The repository keeps its GitLab CI pipeline; a leftover schedule would start it every week."""
    assert sync(cli, gl, spec).code == 0
    edit_text(spec, "  orchestrator: gitlab\n",
              "  orchestrator: airflow\n  image: registry.example.com/ml/fraud-train:1.0\n")
    result = sync(cli, gl, spec)
    assert result.code == 0, result.text
    assert "schedule: deleted" in result.out and ours(gl) == []


def test_a_sync_to_another_branch_does_not_move_the_schedule(cli, gl: GitLabEmulator, spec: Path) -> None:
    assert sync(cli, gl, spec).code == 0
    before = gl.pipeline_schedules(PROJECT)
    gl.commit_directly(PROJECT, "experiment", {"NOTES.md": b"try things\n"}, "a branch to experiment on")
    gl.reset_requests()
    result = sync(cli, gl, spec, "--branch", "experiment")
    assert result.code == 0, result.text
    assert "schedule: skipped" in result.out and "follows syncs of main (ci.defaultBranch)" in result.out
    assert schedule_requests(gl) == [] and gl.pipeline_schedules(PROJECT) == before


@pytest.mark.parametrize("example", ["churn-predictor", "demand-forecast"])
def test_no_schedule_requests_when_jenkins_or_airflow_retrains(cli, gl: GitLabEmulator, tmp_path: Path,
                                                                 example: str) -> None:
    """Jenkins runs these pipelines (ci.targets: [jenkins]): there is no GitLab pipeline to schedule."""
    spec = tmp_path / example / "mlops.yaml"
    spec.parent.mkdir()
    shutil.copyfile(EXAMPLES / example / "mlops.yaml", spec)
    for _ in range(2):  # the first sync commits, the second finds nothing to do
        result = cli("sync", spec, "--gitlab-url", gl.url, "--project", PROJECT, "--format", "json")
        assert result.code == 0, result.text
        assert json.loads(result.out)["schedule"] is None
    assert schedule_requests(gl) == [] and gl.pipeline_schedules(PROJECT) == []


def test_no_schedule_for_the_local_backend(cli, tmp_path: Path) -> None:
    repo = tmp_path / "fraud-detector"
    repo.mkdir()
    shutil.copyfile(EXAMPLES / "fraud-detector/mlops.yaml", repo / "mlops.yaml")
    for args in (["init", "-q", "-b", "main"], ["add", "."],
                 ["-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "initial"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)
    result = cli("sync", repo / "mlops.yaml")
    assert result.code == 0 and "schedule:" not in result.out
    assert json.loads(cli("sync", repo / "mlops.yaml", "--format", "json").out)["schedule"] is None


def test_a_transient_failure_on_the_schedule_is_retried(cli, gl: GitLabEmulator, spec: Path) -> None:
    gl.inject(Fault("500", match=("POST", r"/pipeline_schedules$")))
    gl.inject(Fault("drop", match=("GET", r"/pipeline_schedules\?")))
    result = sync(cli, gl, spec)
    assert result.code == 0, result.text
    assert len(ours(gl)) == 1


# ---- the emulator's pipeline schedules API, raw, as GitLab documents it --------------------------

def test_emulator_pipeline_schedules_api(gl: GitLabEmulator) -> None:
    api = f"{gl.url}/api/v4/projects/risk%2Ffraud-detector/pipeline_schedules"

    def call(method: str, url: str, token: str = TOKEN, **body: object) -> requests.Response:
        return requests.request(method, url, headers={"PRIVATE-TOKEN": token}, json=body or None, timeout=10)

    missing = call("POST", api, description="x")
    assert missing.status_code == 400 and missing.json() == {"error": "ref is missing, cron is missing"}
    bad_cron = call("POST", api, description="x", ref="main", cron="every day")
    assert bad_cron.status_code == 400 and bad_cron.json() == {"message": {"cron": [" is invalid syntax"]}}
    bad_ref = call("POST", api, description="x", ref="nope", cron="0 1 * * *")
    assert bad_ref.status_code == 400 and bad_ref.json() == {"message": {"ref": ["is ambiguous"]}}
    created = call("POST", api, description="x", ref="main", cron="0 1 * * *")
    assert created.status_code == 201
    entity = created.json()
    assert entity["ref"] == "refs/heads/main" and entity["cron_timezone"] == "UTC" and entity["active"] is True
    assert entity["owner"]["username"] and entity["last_pipeline"] is None
    one = f"{api}/{entity['id']}"
    assert call("GET", one).json()["id"] == entity["id"]
    updated = call("PUT", one, cron="0 2 * * *")
    assert updated.status_code == 200 and updated.json()["cron"] == "0 2 * * *"
    assert call("PUT", one, OTHER, cron="0 3 * * *").status_code == 403  # not the owner
    assert call("PUT", one, cron_timezone="Mars/Olympus").json() == {
        "message": {"cron": [" is invalid syntax"], "cron_timezone": [" is invalid syntax"]}}
    for n in range(24):
        gl.add_pipeline_schedule(PROJECT, description=f"s{n}", ref="main", cron="0 1 * * *")
    page = call("GET", api)
    assert len(page.json()) == 20 and page.headers["X-Total"] == "25" and page.headers["X-Next-Page"] == "2"
    assert 'rel="next"' in page.headers["Link"]
    assert call("GET", api + "?scope=inactive").json() == []
    deleted = call("DELETE", one)
    assert deleted.status_code == 204 and deleted.content == b""
    gone = call("GET", one)
    assert gone.status_code == 404 and gone.json() == {"message": "404 Pipeline Schedule Not Found"}
    assert call("DELETE", one).status_code == 404
    assert requests.get(api, timeout=10).status_code == 404  # private project, anonymous
