"""Shared helpers for the CLI tests: run mlopsgen in-process, copy and edit example specs,
render them into tmp_path, and snapshot a directory to prove what was (not) written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
FRAUD_GITOPS = "apps/fraud-detector"
FRAUD_IMAGE = "registry.gitlab.com/acme/risk/fraud-detector"
# Every file a render of the fraud-detector example writes (its golden copy), manifest included.
FRAUD_FILES = sum(1 for p in (EXAMPLES / "fraud-detector" / "rendered").rglob("*") if p.is_file())


@pytest.fixture(scope="session")
def mlopsgen_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mlopsgen's wheel, built once per session from a clean copy of the checkout (a stale build/
    directory in a checkout would hide a missing package)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source, dist = tmp / "source", tmp / "dist"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns("build", "dist", ".tools", "*.egg-info", ".git",
                                                                "__pycache__", ".*_cache", ".venv"))
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(source)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = dist.glob("mlopsgen-*.whl")
    return wheel


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """cli("render", spec, "--out", out) -> CliResult: mlopsgen run in-process."""

    def run(*args: object) -> CliResult:
        capsys.readouterr()  # drop anything printed before this call
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@dataclass(frozen=True)
class Project:
    """An example spec copied to tmp_path, rendered (or not) into out/."""

    spec: Path
    out: Path

    @property
    def gitops(self) -> Path:
        return self.out / FRAUD_GITOPS

    def edit_spec(self, old: str, new: str) -> None:
        edit_text(self.spec, old, new)


def edit_text(path: Path, old: str, new: str) -> None:
    """Replace one exact, unique occurrence of old: a test edit that silently misses is a bug."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def copy_example(tmp_path: Path, name: str) -> Project:
    spec = tmp_path / "mlops.yaml"
    shutil.copyfile(EXAMPLES / name / "mlops.yaml", spec)
    return Project(spec, tmp_path / "out")


@pytest.fixture
def fraud(tmp_path: Path) -> Project:
    """The fraud-detector spec in tmp_path, not rendered yet."""
    return copy_example(tmp_path, "fraud-detector")


@pytest.fixture
def churn(tmp_path: Path) -> Project:
    return copy_example(tmp_path, "churn-predictor")


@pytest.fixture
def rendered_fraud(fraud: Project, cli: Callable[..., CliResult]) -> Project:
    """The fraud-detector spec in tmp_path, rendered into tmp_path/out."""
    result = cli("render", fraud.spec, "--out", fraud.out)
    assert result.code == 0, result.text
    return fraud


# production, with its canary, is the last environment of the fraud-detector spec
FRAUD_PRODUCTION_ENV = """    - name: production
      namespace: risk-prod
      approval: auto
      replicas: 3
      strategy:
        type: canary
        steps:
          - {weight: 10, pause: 10m}
          - {weight: 50, pause: 30m}
          - {weight: 100}
"""


def remove_fraud_production(project: Project) -> None:
    project.edit_spec(FRAUD_PRODUCTION_ENV, "")


@dataclass(frozen=True)
class FileState:
    data: bytes
    mode: int
    inode: int
    mtime_ns: int


def snapshot(directory: Path) -> dict[str, FileState]:
    """Every file and directory under directory (directories map to empty data)."""
    out: dict[str, FileState] = {}
    if not directory.exists():
        return out
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = Path(root) / name
            st = path.stat()
            data = path.read_bytes() if path.is_file() else b""
            out[path.relative_to(directory).as_posix()] = FileState(data, st.st_mode, st.st_ino, st.st_mtime_ns)
    return out
