"""`mlopsgen sync` with the default backend: the spec's own git repository, written with git
plumbing (one commit, compare-and-swap on the branch, working tree brought along)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import EXAMPLES, FRAUD_FILES, CliResult

from generator.deliver.backends import ConflictError
from generator.deliver.backends.local import LocalRepository
from generator.deliver.writer import Action, Change


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def model_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "fraud-detector"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "mlops.yaml").write_bytes((EXAMPLES / "fraud-detector/mlops.yaml").read_bytes())
    (repo / "README.md").write_text("# fraud detector\n")
    git(repo, "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "initial")
    return repo


def commits(repo: Path, ref: str = "main") -> list[str]:
    return git(repo, "log", "--format=%s", ref).splitlines()


def test_first_sync_commits_everything_in_one_commit(model_repo: Path, cli) -> None:
    result: CliResult = cli("sync", model_repo / "mlops.yaml")
    assert result.code == 0, result.text
    assert f"changed {FRAUD_FILES} file(s)" in result.out
    assert commits(model_repo) == ["mlopsgen 0.1.0: regenerate from mlops.yaml", "initial"]
    tracked = git(model_repo, "ls-files").splitlines()
    assert {".gitlab-ci.yml", "Dockerfile", ".mlopsgen/manifest.json", "README.md"} <= set(tracked)
    assert git(model_repo, "status", "--porcelain") == ""  # the working tree came along
    mode = git(model_repo, "ls-files", "-s", "ci/mlopsgen-release.sh").split()[0]
    assert mode == "100755"


def test_second_sync_commits_nothing(model_repo: Path, cli) -> None:
    cli("sync", model_repo / "mlops.yaml")
    result = cli("sync", model_repo / "mlops.yaml", "--format", "json")
    assert result.code == 0
    assert '"status": "unchanged"' in result.out
    assert len(commits(model_repo)) == 2


def test_merge_request_mode_commits_to_a_branch(model_repo: Path, cli) -> None:
    result = cli("sync", model_repo / "mlops.yaml", "--merge-request")
    assert result.code == 0, result.text
    assert commits(model_repo) == ["initial"]  # main untouched
    assert commits(model_repo, "mlopsgen/update")[0].startswith("mlopsgen 0.1.0")
    # a second run with a spec change resets the branch onto main: still one commit on top
    text = (model_repo / "mlops.yaml").read_text().replace("maxReplicas: 10", "maxReplicas: 11")
    (model_repo / "mlops.yaml").write_text(text)
    git(model_repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "more replicas")
    assert cli("sync", model_repo / "mlops.yaml", "--merge-request").code == 0
    assert len(commits(model_repo, "mlopsgen/update")) == len(commits(model_repo)) + 1


def test_dry_run_commits_nothing(model_repo: Path, cli) -> None:
    result = cli("sync", model_repo / "mlops.yaml", "--dry-run")
    assert result.code == 0 and f"would change {FRAUD_FILES} file(s)" in result.out
    assert commits(model_repo) == ["initial"]


def test_spec_outside_a_repository_root_is_refused(tmp_path: Path, cli) -> None:
    spec = tmp_path / "mlops.yaml"
    spec.write_bytes((EXAMPLES / "fraud-detector/mlops.yaml").read_bytes())
    result = cli("sync", spec)
    assert result.code == 1 and "is not in a git repository" in result.err


def test_concurrent_move_of_the_branch_is_detected(model_repo: Path) -> None:
    repo = LocalRepository(model_repo)
    base = repo.snapshot("main")
    (model_repo / "other.txt").write_text("someone else\n")
    git(model_repo, "add", "other.txt")
    git(model_repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "concurrent")
    with pytest.raises(ConflictError):
        repo.commit(branch="main", base=base, message="x", changes=[Change("a.txt", Action.CREATE, b"a\n")])
    assert commits(model_repo) == ["concurrent", "initial"]


def test_invalid_spec_commits_nothing(model_repo: Path, cli) -> None:
    (model_repo / "mlops.yaml").write_text("apiVersion: mlopsgen/v1\n")
    result = cli("sync", model_repo / "mlops.yaml")
    assert result.code == 1 and "missing required field" in result.err
    assert commits(model_repo) == ["initial"]
