"""The published pre-commit hook, run by real pre-commit (`try-repo` on this checkout): it fails a
commit that stages a hand edit of a generated file, not only one that stages the spec."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES

from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # pre-commit builds the hook's environment: pip installs this checkout


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def try_hook(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO), "mlopsgen-check"], cwd=repo,
                          capture_output=True, text=True, env=env, timeout=900, check=False)


@pytest.fixture
def model_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "model"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    shutil.copyfile(EXAMPLES / "fraud-detector" / "mlops.yaml", repo / "mlops.yaml")
    assert main(["sync", str(repo / "mlops.yaml"), "--format", "json"]) == 0
    return repo


def test_a_staged_hand_edit_of_a_generated_file_fails_the_hook(model_repo: Path, pre_commit_home: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    dockerfile = model_repo / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text() + "# tuned by hand\n")
    git(model_repo, "add", "Dockerfile")  # mlops.yaml is not staged
    result = try_hook(model_repo, pre_commit_home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mlopsgen check" in result.stdout and "Failed" in result.stdout
    assert "hand-edited  Dockerfile: changed by hand after it was generated" in result.stdout


def test_an_unrelated_staged_file_passes_the_hook(model_repo: Path, pre_commit_home: Path) -> None:
    (model_repo / "NOTES.md").write_text("notes\n")
    git(model_repo, "add", "NOTES.md")
    result = try_hook(model_repo, pre_commit_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout
