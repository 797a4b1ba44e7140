"""Every spec in tests/specs/invalid/ must fail with exactly the error in its .expected file,
exit 1, and leave nothing behind when rendered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
INVALID = sorted((REPO / "tests" / "specs" / "invalid").glob("*.yaml"))
VALID = sorted((REPO / "tests" / "specs" / "valid").glob("*.yaml"))


@pytest.mark.parametrize("spec", INVALID, ids=lambda p: p.stem)
def test_invalid_spec_reports_exact_errors(spec: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    relative = spec.relative_to(REPO).as_posix()
    assert main(["validate", relative]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.err == spec.with_suffix(".expected").read_text(encoding="utf-8")


@pytest.mark.parametrize("spec", INVALID, ids=lambda p: p.stem)
def test_invalid_spec_json_report_has_locations(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(spec), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["problems"], report
    for problem in report["problems"]:
        assert problem["file"] == str(spec)
        assert problem["line"] >= 1 and problem["column"] >= 1
        assert problem["message"]


@pytest.mark.parametrize("spec", INVALID, ids=lambda p: p.stem)
def test_invalid_spec_writes_nothing(spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert main(["render", str(spec), "--out", str(out)]) == 1
    assert list(out.iterdir()) == []
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("spec", VALID, ids=lambda p: p.stem)
def test_valid_spec_validates(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(spec)]) == 0
    assert capsys.readouterr().out.strip() == f"{spec}: valid"


def test_ten_megabyte_spec_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "mlops.yaml"
    spec.write_text("apiVersion: mlopsgen/v1\n" + "# padding\n" * 1_100_000)
    assert main(["render", str(spec), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{spec}:1:1: (root): the spec is 11,000,024 bytes; the limit is 1,000,000" in err
    assert not (tmp_path / "out").exists()


def test_alias_bomb_is_refused_quickly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    spec = tmp_path / "bomb.yaml"
    spec.write_text("\n".join(lines) + "\n")
    assert main(["validate", str(spec)]) == 1
    assert "the spec has more than 100,000 values" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "message"), [
    (["validate", "does/not/exist.yaml"], "mlopsgen: does/not/exist.yaml: no such file"),
    (["validate", "."], "mlopsgen: .: is a directory, not a spec file"),
])
def test_missing_or_directory_spec(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 1
    assert capsys.readouterr().err.startswith(message)
