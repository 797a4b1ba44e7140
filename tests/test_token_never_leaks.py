"""Every API-facing command runs with a sentinel token; the token must appear in no output, no
report, no commit message and no merge request, on success and on every kind of failure."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import gitlab
import pytest
from conftest import EXAMPLES
from emulators.gitlab import Fault, GitLabEmulator

pytest_plugins = ["emulators.fixtures"]

SENTINEL = "glpat-LEAK-CANARY-5b8e1d"
SPEC = (EXAMPLES / "fraud-detector/mlops.yaml").read_bytes()


def test_sentinel_token_appears_nowhere(cli, gitlab_emulator: GitLabEmulator, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    gl = gitlab_emulator
    gl.tokens[SENTINEL] = "maintainer"
    monkeypatch.setenv("GITLAB_TOKEN", SENTINEL)
    monkeypatch.setenv("MLOPSGEN_GITLAB_RETRIES", "1")
    gl.create_project("risk/fraud-detector", files={"mlops.yaml": SPEC})
    gl.create_project("platform/gitops", files={"README.md": b"x\n"})
    spec = tmp_path / "mlops.yaml"
    spec.write_bytes(SPEC)
    sync = ["sync", spec, "--gitlab-url", gl.url, "--project", "risk/fraud-detector"]
    release = ["--gitlab-url", gl.url, "--project", "platform/gitops", "--spec", spec]
    report, state = tmp_path / "report.json", tmp_path / "state.json"
    outputs = [
        cli(*sync, "--gitops-project", "platform/gitops"),
        cli(*sync, "--merge-request", "--format", "json"),
        cli("promote", "--env", "staging", "--image-tag", "abc123", *release),
        cli("rollback", "--env", "staging", *release),  # fails: nothing to roll back to
        cli("fleet", "--gitlab-url", gl.url, "--group", "risk", "--report", report, "--state", state),
        cli("sync", spec, "--gitlab-url", "http://127.0.0.1:9", "--project", "risk/fraud-detector"),  # refused
    ]
    faults = [gl.inject(Fault("500", times=50))]
    outputs.append(cli(*sync, "--merge-request"))
    faults[0].times = 0
    faults.append(gl.inject(Fault("drop", times=50)))
    outputs.append(cli(*sync))
    faults[1].times = 0
    monkeypatch.setenv("GITLAB_TOKEN", SENTINEL + "-revoked")
    outputs.append(cli(*sync))
    assert [o.code for o in outputs][:3] == [0, 0, 0]
    assert all(o.code in (0, 1) for o in outputs), [o.text for o in outputs]

    texts = [o.text for o in outputs] + [report.read_text(), state.read_text()]
    for project in ("risk/fraud-detector", "platform/gitops"):
        git = ["git", "--git-dir", str(gl.repo_path(project))]
        texts.append(subprocess.run([*git, "log", "--all", "--format=%B%n%an%n%ae"], capture_output=True,
                                    text=True, check=True).stdout)
    monkeypatch.setenv("GITLAB_TOKEN", SENTINEL)
    client = gitlab.Gitlab(gl.url, private_token=SENTINEL)
    for mr in client.projects.get("risk/fraud-detector").mergerequests.list(get_all=True):
        texts += [mr.title, mr.description]
    for text in texts:
        assert SENTINEL not in text
        assert "Traceback" not in text
    assert json.loads(report.read_text())["projects"]
