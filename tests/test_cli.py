"""The command line as a user meets it: exit codes, output formats, start-up imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator import __version__
from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
FRAUD = REPO / "examples/fraud-detector/mlops.yaml"
HEAVY = ("gitlab", "jenkinsapi", "cookiecutter")


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr().out.strip() == f"mlopsgen {__version__}"


@pytest.mark.parametrize("argv", [[], ["render"], ["frobnicate"], ["render", "x.yaml", "--format", "xml"],
                                  ["promote", "--env", "prod"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err


def test_validate_json_for_a_valid_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(FRAUD), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"valid": True, "file": str(FRAUD), "problems": []}


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_python_dash_m_and_render_into_the_spec_directory(tmp_path: Path) -> None:
    spec = tmp_path / "mlops.yaml"
    spec.write_bytes(FRAUD.read_bytes())
    result = run_cli("render", str(spec))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".gitlab-ci.yml").is_file()
    assert "fraud-detector: 24 files" in result.stderr
    assert "  production: 3-10 replicas x (1 CPU, 2Gi) = 3 CPU, 6Gi up to 10 CPU, 20Gi" in result.stderr
    assert run_cli("check", str(spec)).returncode == 0


@pytest.mark.parametrize("command", ["render", "validate", "check"])
def test_core_commands_do_not_import_api_clients(command: str, tmp_path: Path) -> None:
    spec = tmp_path / "mlops.yaml"
    spec.write_bytes(FRAUD.read_bytes())
    probe = (
        "import sys\n"
        "from generator.cli import main\n"
        f"code = main([{command!r}, {str(spec)!r}])\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print('LOADED', loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120,
                            check=False)
    assert "LOADED []" in result.stdout, result.stdout + result.stderr


def test_a_bug_is_exit_3_with_a_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import generator.commands.validate as validate

    def boom(_args: object) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(validate, "run", boom)
    assert main(["validate", str(FRAUD)]) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "internal error" in err


def test_interrupt_is_exit_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import generator.commands.validate as validate

    def interrupted(_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(validate, "run", interrupted)
    assert main(["validate", str(FRAUD)]) == 130
    assert "interrupted" in capsys.readouterr().err
