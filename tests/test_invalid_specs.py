"""Every spec in tests/specs/invalid/ must fail with exactly the error in its .expected file,
exit 1, and leave nothing behind when rendered."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import generator.spec.loader as loader_module
from generator.cli import main
from generator.errors import Problem, SpecError
from generator.spec.intake import merge_problems, spec_problems
from generator.spec.loader import PathKey, load_spec, parse_spec

REPO = Path(__file__).resolve().parent.parent
INVALID = sorted((REPO / "tests" / "specs" / "invalid").glob("*.yaml"))
VALID = sorted((REPO / "tests" / "specs" / "valid").glob("*.yaml"))
EXAMPLES = sorted(REPO.glob("examples/*/mlops.yaml"))


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


# ------------------------------------------------------------- schema and rule problems in one run

def test_schema_and_rule_problems_are_reported_in_one_run(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "tests/specs/invalid/schema-and-rules.yaml"
    assert main(["validate", str(REPO / spec), "--format", "json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [(p["line"], p["column"], p["path"], p["rule"], p["message"]) for p in problems] == [
        (6, 9, "metadata.name", "pattern", '"Tiny_Model" is not a DNS-1123 label: lowercase letters, digits and '
         "'-', starting with a letter and ending with a letter or digit"),
        (17, 46, "serving.autoscaling.maxReplicas", "type", 'expected an integer, got string "many"'),
        (27, 17, "training.orchestrator", "enum", '"argo" is not an allowed value'),
        (29, 15, "training.triggers.schedule", "cron",
         "cron '0 25 * * 1': the hour field has '25'; it takes 0-23"),
    ]


def test_a_rule_problem_on_a_path_the_schema_reported_is_dropped() -> None:
    schema = [Problem("s.yaml", 3, 5, "training.orchestrator", '"argo" is not an allowed value', rule="enum"),
              Problem("s.yaml", 2, 3, "training", "missing required field 'dataChecks'", rule="required")]
    rules = [Problem("s.yaml", 3, 5, "training.orchestrator", "argo is not one of ci.targets",
                     rule="orchestrator-target"),
             Problem("s.yaml", 2, 3, "training", "the Airflow DAG ... needs an image", rule="airflow-image")]
    assert [p.rule for p in SpecError(problems=merge_problems(schema, rules)).problems] == [
        "required", "airflow-image", "enum"]


WRONG_VALUES: list[Any] = [None, True, 0, -1, 2.5, "x", "H H * * *", [], [None], {}, {"x": 1}]
DELETE = object()


def _paths(data: Any, path: PathKey = ()) -> Iterator[PathKey]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield (*path, i)
            yield from _paths(value, (*path, i))


def _readable_specs() -> list[Path]:
    specs = [*EXAMPLES, *VALID]
    for spec in INVALID:
        try:
            load_spec(spec)
        except SpecError:
            continue
        specs.append(spec)
    return specs


@pytest.mark.parametrize("spec", _readable_specs(), ids=lambda p: p.parent.name if p.name == "mlops.yaml" else p.stem)
def test_rules_never_crash_on_malformed_values(spec: Path) -> None:
    """Every value replaced by wrong kinds of value (or deleted), two kinds per path, every kind at some
    path: the schema reports it, the rules read the model normalised from its stand-ins and skip what
    they cannot read, and every problem of the whole intake is located."""
    loaded = load_spec(spec)
    kinds = [*WRONG_VALUES, DELETE]
    for n, path in enumerate(list(_paths(loaded.data))):
        parent: Any = loaded.data
        for part in path[:-1]:
            parent = parent[part]
        entries = list(parent.items()) if isinstance(parent, dict) else None
        original = parent[path[-1]]
        for wrong in (kinds[n % len(kinds)], kinds[(n + len(kinds) // 2) % len(kinds)]):
            if wrong is DELETE and entries is None:
                continue
            if wrong is DELETE:
                del parent[path[-1]]
            else:
                parent[path[-1]] = wrong
            try:
                assert all(p.line >= 1 for p in spec_problems(loaded))
            except Exception as exc:
                raise AssertionError(f"{spec.name}: {path} = {wrong!r}: {exc!r}") from exc
            finally:
                if entries is not None:  # back in place, in the same order
                    parent.clear()
                    parent.update(entries)
                else:
                    parent[path[-1]] = original


# ------------------------------------------------------------------------------ YAML syntax errors

@pytest.mark.parametrize("spec", [p for p in INVALID if p.stem.startswith("yaml-")], ids=lambda p: p.stem)
def test_syntax_errors_read_the_same_without_libyaml(spec: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """PyYAML's pure-Python loader words its errors differently from libyaml's: the messages must not."""
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(loader_module, "_Loader", yaml.SafeLoader)
    assert main(["validate", spec.relative_to(REPO).as_posix()]) == 1
    assert capsys.readouterr().err == spec.with_suffix(".expected").read_text(encoding="utf-8")


MUTATIONS = ["[", "{", '"', "'", "\t", ": ", "\n ", "\n", "- ", "\\", "#", "---\n", "*a", "&", "]", "}"]


@pytest.mark.parametrize("spec", EXAMPLES, ids=lambda p: p.parent.name)
def test_any_typo_is_a_located_problem_never_a_crash(spec: Path) -> None:
    """One character inserted or deleted anywhere in a real spec: it loads, or fails with located problems."""
    text = spec.read_text(encoding="utf-8")
    lines = text.count("\n") + 2
    for n, at in enumerate(range(0, len(text), len(text) // 100 + 1)):  # ~100 places, every mutation at some
        mutation = MUTATIONS[n % len(MUTATIONS)]
        for mutated in (text[:at] + mutation + text[at:], text[:at] + text[at + 1:]):
            try:
                parse_spec(mutated.encode(), "mlops.yaml", Path("mlops.yaml"))
            except SpecError as exc:
                for p in exc.problems:
                    assert 1 <= p.line <= lines and p.column >= 1 and p.message, (at, mutation, p)
