"""`mlopsgen jenkins apply` through the real jenkinsapi library, over HTTP, against the Jenkins emulator."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from conftest import REPO, CliResult, Project
from emulators.jenkins import TEST_TOKEN as JENKINS_TOKEN
from emulators.jenkins import TEST_USER as JENKINS_USER
from emulators.jenkins import JenkinsEmulator

import generator.render.engine
from generator.artifacts import RenderedFile

pytest_plugins = ["emulators.jenkins_fixtures"]  # the jenkins_emulator fixture

REPO_URL = "https://git.example.com/growth/churn-predictor.git"
SENTINEL = "tok-SENTINEL-123"
JOB = "churn-predictor"  # metadata.name of the churn-predictor example
CRUMBS = pytest.mark.parametrize("jenkins_emulator", [{"crumbs": True}, {"crumbs": False}], indirect=True,
                                 ids=["crumbs", "no-crumbs"])


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JENKINS_TOKEN", JENKINS_TOKEN)
    monkeypatch.setenv("JENKINS_USER", JENKINS_USER)
    monkeypatch.delenv("JENKINSAPI_LOG_LEVEL", raising=False)


def apply(cli: Callable[..., CliResult], project: Project, jenkins: JenkinsEmulator, *extra: str,
          repo_url: str = REPO_URL) -> CliResult:
    return cli("jenkins", "apply", project.spec, "--url", jenkins.url, "--repo-url", repo_url, *extra)


def posts(jenkins: JenkinsEmulator) -> list[str]:
    return [path for method, path in jenkins.requests if method == "POST"]


def config(jenkins: JenkinsEmulator, name: str = JOB) -> ET.Element:
    return ET.fromstring(jenkins.config(name).encode("utf-8"))


@CRUMBS
def test_create_then_unchanged_then_update(churn: Project, cli: Callable[..., CliResult],
                                           jenkins_emulator: JenkinsEmulator) -> None:
    jenkins = jenkins_emulator
    first = apply(cli, churn, jenkins)
    assert first.code == 0, first.text
    assert f"pipeline job {JOB}: created" in first.out
    assert posts(jenkins) == ["/createItem"]
    created = config(jenkins)
    assert created.tag == "flow-definition"
    assert created.findtext("definition/scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url") == REPO_URL
    assert created.findtext("definition/scm/branches/hudson.plugins.git.BranchSpec/name") == "*/main"
    assert created.findtext("definition/scriptPath") == "Jenkinsfile"
    assert created.findtext("definition/lightweight") == "true"
    create_headers = jenkins.posts[0][1]
    if jenkins.crumbs:
        assert create_headers.get("Jenkins-Crumb") == jenkins.crumb
    else:
        assert "Jenkins-Crumb" not in create_headers
    assert ("GET", "/crumbIssuer/api/python") in jenkins.requests

    jenkins.requests.clear()
    second = apply(cli, churn, jenkins, "--format", "json")
    assert second.code == 0, second.text
    assert '"action": "unchanged"' in second.out
    assert posts(jenkins) == []

    churn.edit_spec("  targets: [jenkins]\n", "  targets: [jenkins]\n  defaultBranch: release\n")
    jenkins.requests.clear()
    third = apply(cli, churn, jenkins)
    assert third.code == 0, third.text
    assert f"pipeline job {JOB}: updated" in third.out
    assert posts(jenkins) == [f"/job/{JOB}/config.xml"]
    assert config(jenkins).findtext("definition/scm/branches/hudson.plugins.git.BranchSpec/name") == "*/release"
    assert JENKINS_TOKEN not in first.text + second.text + third.text


def test_scm_credentials_and_folder(churn: Project, cli: Callable[..., CliResult],
                                    jenkins_emulator: JenkinsEmulator) -> None:
    jenkins_emulator.add_folder("ml")
    result = apply(cli, churn, jenkins_emulator, "--folder", "ml", "--job", "churn", "--scm-credentials", "git-ro")
    assert result.code == 0, result.text
    assert posts(jenkins_emulator) == ["/job/ml/createItem"]
    remote = "definition/scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/credentialsId"
    assert config(jenkins_emulator, "ml/churn").findtext(remote) == "git-ro"
    again = apply(cli, churn, jenkins_emulator, "--folder", "ml", "--job", "churn", "--scm-credentials", "git-ro")
    assert "unchanged" in again.out


def test_missing_folder_is_a_user_error(churn: Project, cli: Callable[..., CliResult],
                                        jenkins_emulator: JenkinsEmulator) -> None:
    result = apply(cli, churn, jenkins_emulator, "--folder", "nope")
    assert result.code == 1
    assert "folder nope does not exist" in result.err
    assert posts(jenkins_emulator) == []


def test_dry_run_changes_nothing(churn: Project, cli: Callable[..., CliResult],
                                 jenkins_emulator: JenkinsEmulator) -> None:
    result = apply(cli, churn, jenkins_emulator, "--dry-run")
    assert result.code == 0, result.text
    assert "would be created" in result.out
    assert posts(jenkins_emulator) == [] and jenkins_emulator.items == {}


def test_bad_token_is_refused_and_never_printed(churn: Project, cli: Callable[..., CliResult],
                                                jenkins_emulator: JenkinsEmulator,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JENKINS_TOKEN", SENTINEL)
    for extra in ((), ("--format", "json"), ("--lint",)):
        result = apply(cli, churn, jenkins_emulator, *extra)
        assert result.code == 1, result.text
        assert f"Jenkins rejected the credentials for user {JENKINS_USER}" in result.text
        assert SENTINEL not in result.text
    assert posts(jenkins_emulator) == []
    assert jenkins_emulator.items == {}


def test_user_without_token_stops_before_any_request(churn: Project, cli: Callable[..., CliResult],
                                                     jenkins_emulator: JenkinsEmulator,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JENKINS_TOKEN")
    result = apply(cli, churn, jenkins_emulator, "--user", "someone")
    assert result.code == 1
    assert "no API token for Jenkins user someone" in result.err
    assert jenkins_emulator.requests == []


def test_anonymous_write_is_refused(churn: Project, cli: Callable[..., CliResult],
                                    jenkins_emulator: JenkinsEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JENKINS_TOKEN")
    monkeypatch.delenv("JENKINS_USER")
    result = apply(cli, churn, jenkins_emulator)
    assert result.code == 1
    assert "Jenkins refused the change to anonymous requests (HTTP 403)" in result.err


def test_unreachable_jenkins(churn: Project, cli: Callable[..., CliResult]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    result = cli("jenkins", "apply", churn.spec, "--url", url, "--repo-url", REPO_URL)
    assert result.code == 1
    assert f"cannot reach Jenkins at {url}" in result.err
    assert JENKINS_TOKEN not in result.text


def test_server_error_is_reported(churn: Project, cli: Callable[..., CliResult],
                                  jenkins_emulator: JenkinsEmulator) -> None:
    jenkins_emulator.inject_status(503, times=1, retry_after=0)
    result = apply(cli, churn, jenkins_emulator)
    assert result.code == 1
    assert "answered HTTP 503" in result.err


def test_lint_passes_the_rendered_jenkinsfile(churn: Project, cli: Callable[..., CliResult],
                                              jenkins_emulator: JenkinsEmulator) -> None:
    result = apply(cli, churn, jenkins_emulator, "--lint")
    assert result.code == 0, result.text
    assert "successfully validated" in result.out
    assert posts(jenkins_emulator) == ["/pipeline-model-converter/validate", "/createItem"]
    (body,) = jenkins_emulator.posted("/validate")
    assert b"jenkinsfile=" in body and b"pipeline+%7B" in body


def test_lint_errors_stop_before_any_change(churn: Project, cli: Callable[..., CliResult],
                                           jenkins_emulator: JenkinsEmulator,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    real_build = generator.render.engine.build

    def broken_build(spec_path: Path, out_dir: Path) -> generator.render.engine.Build:
        result = real_build(spec_path, out_dir)
        files = [RenderedFile(f.path, f.content + "\n}\n", f.syntax, f.origin) if f.path == "Jenkinsfile" else f
                 for f in result.files]
        return generator.render.engine.Build(result.spec, files, result.provenance)

    monkeypatch.setattr(generator.render.engine, "build", broken_build)
    result = apply(cli, churn, jenkins_emulator, "--lint")
    assert result.code == 1, result.text
    assert "Errors encountered validating Jenkinsfile:" in result.err
    assert "unexpected token: }" in result.err
    assert posts(jenkins_emulator) == ["/pipeline-model-converter/validate"]
    assert jenkins_emulator.items == {}


def test_multibranch_project(churn: Project, cli: Callable[..., CliResult],
                             jenkins_emulator: JenkinsEmulator) -> None:
    result = apply(cli, churn, jenkins_emulator, "--multibranch", "--scm-credentials", "git-ro")
    assert result.code == 0, result.text
    assert "multibranch job churn-predictor: created" in result.out
    root = config(jenkins_emulator)
    assert root.tag == "org.jenkinsci.plugins.workflow.multibranch.WorkflowMultiBranchProject"
    source = root.find("sources/data/jenkins.branch.BranchSource/source")
    assert source is not None and source.get("class") == "jenkins.plugins.git.GitSCMSource"
    assert source.findtext("remote") == REPO_URL
    assert source.findtext("credentialsId") == "git-ro"
    assert root.findtext("factory/scriptPath") == "Jenkinsfile"

    jenkins_emulator.requests.clear()
    again = apply(cli, churn, jenkins_emulator, "--multibranch", "--scm-credentials", "git-ro")
    assert "unchanged" in again.out and posts(jenkins_emulator) == []
    moved = apply(cli, churn, jenkins_emulator, "--multibranch", "--scm-credentials", "git-ro",
                  repo_url="https://git.example.com/growth/churn.git")
    assert "updated" in moved.out
    assert posts(jenkins_emulator) == [f"/job/{JOB}/config.xml"]


def test_job_kind_change_is_refused(churn: Project, cli: Callable[..., CliResult],
                                    jenkins_emulator: JenkinsEmulator) -> None:
    jenkins_emulator.add_job(JOB)
    result = apply(cli, churn, jenkins_emulator, "--multibranch")
    assert result.code == 1
    assert "already exists in Jenkins as a Pipeline job" in result.err
    assert posts(jenkins_emulator) == []


def test_xml_special_characters_are_escaped(churn: Project, cli: Callable[..., CliResult],
                                            jenkins_emulator: JenkinsEmulator) -> None:
    name = "churn \"beta\" 'x'"
    repo_url = "https://git.example.com/g/p.git?a=1&b=<2>&c=\"3\""
    result = apply(cli, churn, jenkins_emulator, "--job", name, repo_url=repo_url)
    assert result.code == 0, result.text
    (body,) = jenkins_emulator.posted("/createItem")
    assert b"&amp;b=&lt;2&gt;" in body
    root = ET.fromstring(body)
    assert root.findtext("definition/scm/userRemoteConfigs/hudson.plugins.git.UserRemoteConfig/url") == repo_url
    assert name in (root.findtext("description") or "")
    assert name in jenkins_emulator.items
    again = apply(cli, churn, jenkins_emulator, "--job", name, repo_url=repo_url)
    assert "unchanged" in again.out

    multi = apply(cli, churn, jenkins_emulator, "--job", "mb", "--multibranch", repo_url=repo_url)
    assert multi.code == 0, multi.text
    assert ET.fromstring(jenkins_emulator.posted("/createItem")[-1]).findtext(
        "sources/data/jenkins.branch.BranchSource/source/remote") == repo_url


@pytest.mark.parametrize("name", ["a&b", "a<b>", "ml/churn", ".."])
def test_names_jenkins_refuses_stop_early(churn: Project, cli: Callable[..., CliResult],
                                          jenkins_emulator: JenkinsEmulator, name: str) -> None:
    result = apply(cli, churn, jenkins_emulator, "--job", name)
    assert result.code == 1
    assert "name" in result.err
    assert jenkins_emulator.requests == []


def test_spec_without_jenkins_target(fraud: Project, cli: Callable[..., CliResult],
                                     jenkins_emulator: JenkinsEmulator) -> None:
    result = apply(cli, fraud, jenkins_emulator)
    assert result.code == 1
    assert "does not target Jenkins" in result.err


def test_render_does_not_import_jenkinsapi(tmp_path: Path) -> None:
    code = ("import sys\nfrom generator.cli import main\n"
            f"rc = main(['render', {str(REPO / 'examples/churn-predictor/mlops.yaml')!r}, '--out', "
            f"{str(tmp_path / 'out')!r}])\n"
            "assert rc == 0, rc\n"
            "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('jenkinsapi', 'requests'))\n"
            "assert not loaded, loaded\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_library_errors_are_classified_by_the_answer_status_not_their_text() -> None:
    """jenkinsapi's exceptions carry no status: the boundary takes it from the last answer received."""
    from jenkinsapi.custom_exceptions import JenkinsAPIException

    from generator.errors import UserError
    from generator.integrations import jenkins as integration

    connection = integration.Connection("http://jenkins.test", JENKINS_USER, SENTINEL)
    for status, raised, message in (
            (401, RuntimeError("Failed to fetch crumb: <html>"), f"rejected the credentials for user {JENKINS_USER}"),
            (500, RuntimeError("Failed to fetch crumb: Invalid password/token"), "did not issue a CSRF crumb"),
            (403, JenkinsAPIException("Operation failed."), f"refused the change to user {JENKINS_USER} (HTTP 403)"),
            (200, JenkinsAPIException("status=403"), "gave an answer jenkinsapi cannot use")):
        answers = integration._LastAnswer()
        answers.record(SimpleNamespace(status_code=status))
        with pytest.raises(UserError, match=re.escape(message)), integration._boundary(connection, answers):
            raise raised
    with pytest.raises(RuntimeError, match="unrelated"), integration._boundary(connection, integration._LastAnswer()):
        raise RuntimeError("unrelated")


# -- the emulator itself, as Jenkins answers clients other than mlopsgen ------------------------

def test_emulator_create_item_errors(jenkins_emulator: JenkinsEmulator) -> None:
    auth = (JENKINS_USER, JENKINS_TOKEN)
    url = jenkins_emulator.url + "/createItem"
    no_type = requests.post(url, params={"name": "j"}, data=b"<project/>", auth=auth, timeout=10)
    assert no_type.status_code == 400 and no_type.headers["X-Error"] == "No Content-Type header set"
    xml = {"Content-Type": "application/xml"}
    assert requests.post(url, params={"name": "j"}, data=b"<project/>", headers=xml, auth=auth,
                         timeout=10).status_code == 200
    again = requests.post(url, params={"name": "j"}, data=b"<project/>", headers=xml, auth=auth, timeout=10)
    assert again.status_code == 400
    assert again.headers["X-Error"].encode("latin-1").decode("utf-8") == "A job already exists with the name ‘j’"
    anonymous = requests.post(url, params={"name": "k"}, data=b"<project/>", headers=xml, timeout=10)
    assert anonymous.status_code == 403
    wrong = requests.get(jenkins_emulator.url + "/api/json", auth=(JENKINS_USER, "nope"), timeout=10)
    assert wrong.status_code == 401 and f"Invalid password/token for user: {JENKINS_USER}" in wrong.text


def test_emulator_build_queue_and_faults(jenkins_emulator: JenkinsEmulator) -> None:
    from jenkinsapi.jenkins import Jenkins

    jenkins_emulator.add_folder("ml")
    jenkins_emulator.add_job("ml/train")
    client = Jenkins(jenkins_emulator.url, JENKINS_USER, JENKINS_TOKEN)
    assert client.keys() == ["ml/train"]
    item = client.get_job("ml/train").invoke()
    assert item.queue_id == 1
    assert ("POST", "/job/ml/job/train/build") in jenkins_emulator.requests
    jenkins_emulator.inject_status(429, retry_after=0)
    limited = requests.get(jenkins_emulator.url + "/api/json", timeout=10)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "0"
    assert requests.get(jenkins_emulator.url + "/api/json", timeout=10).status_code == 200
    assert requests.get(jenkins_emulator.url + "/api/python", params={"tree": "jobs[name]"},
                        timeout=10).text == '{"jobs":[{"name":"ml"}]}'


def test_retrain_job_runs_the_continuous_training_jenkinsfile(churn: Project, cli: Callable[..., CliResult],
                                                              jenkins_emulator: JenkinsEmulator) -> None:
    assert apply(cli, churn, jenkins_emulator).code == 0
    result = apply(cli, churn, jenkins_emulator, "--retrain", "--lint")
    assert result.code == 0, result.text
    assert f"pipeline job {JOB}-retrain: created" in result.out
    retrain = config(jenkins_emulator, f"{JOB}-retrain")
    assert retrain.findtext("definition/scriptPath") == "Jenkinsfile.retrain"
    assert (retrain.findtext("description") or "").startswith("Continuous training for model churn-predictor")
    assert config(jenkins_emulator).findtext("definition/scriptPath") == "Jenkinsfile"  # the CI job is untouched
    assert "unchanged" in apply(cli, churn, jenkins_emulator, "--retrain").out


def test_retrain_job_needs_training_on_jenkins(fraud: Project, churn: Project, cli: Callable[..., CliResult],
                                               jenkins_emulator: JenkinsEmulator) -> None:
    churn.edit_spec("  orchestrator: jenkins\n", "  orchestrator: airflow\n  image: python:3.12.7-slim-bookworm\n")
    result = apply(cli, churn, jenkins_emulator, "--retrain")
    assert result.code == 1 and "'H' (a hashed value) is Jenkins syntax; airflow takes plain numbers" in result.err
    churn.edit_spec('schedule: "H 2 * * *"', 'schedule: "0 2 * * *"')
    result = apply(cli, churn, jenkins_emulator, "--retrain")
    assert result.code == 1 and "does not retrain on Jenkins" in result.err
    assert jenkins_emulator.requests == []
