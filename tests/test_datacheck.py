"""Data checks before a retraining run (generator/ct/datacheck.py) and `mlopsgen data-check`.

Each check passes on GOOD data and fails on data crafted to break exactly it; unreadable data
of any kind is one failed `readable` result, never an exception.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import CliResult, edit_text

from generator.ct.datacheck import (
    CHECKS,
    CheckResult,
    DataCheckReport,
    check_data,
    population_stability_index,
    quantile_edges,
)
from generator.model import ColumnCheck, DataChecks, DriftCheck

REPO = Path(__file__).resolve().parent.parent
MINIMAL_TRAINING = REPO / "tests" / "specs" / "ct" / "minimal-training.yaml"
MINIMAL_NO_TRAINING = REPO / "tests" / "specs" / "valid" / "minimal.yaml"
HEADER = ["amount", "country", "count", "flag"]
ROWS = 200


def column(name: str, type_: str, max_missing: float = 0.0, minimum: float | None = None,
           maximum: float | None = None, allowed: tuple[str, ...] = ()) -> ColumnCheck:
    return ColumnCheck(name, type_, max_missing, minimum, maximum, allowed)


COLUMNS = (
    column("amount", "number", minimum=0, maximum=1000),
    column("country", "string", max_missing=0.05, allowed=("DE", "FR")),
    column("count", "integer", minimum=0),
    column("flag", "boolean"),
)
CHECKS_OF_GOOD = DataChecks(path="data.csv", format="csv", min_rows=100, max_missing=0.05, columns=COLUMNS,
                            outlier_z=6, max_outlier_fraction=0.01, drift=None)


def good_rows(n: int = ROWS, seed: int = 1, shift: float = 0.0) -> list[list[str]]:
    rng = random.Random(seed)
    return [[f"{max(0.0, rng.gauss(100 + shift, 10)):.3f}", "DE" if i % 3 else "FR", str(i % 7),
             "true" if i % 2 else "false"] for i in range(n)]


def write_csv(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    lines = [",".join(header if header is not None else HEADER)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def result(report: DataCheckReport, check: str, column: str | None = None) -> CheckResult:
    found = [r for r in report.results if r.check == check and r.column == column]
    assert len(found) == 1, (check, column, report.results)
    return found[0]


def failures(report: DataCheckReport) -> list[tuple[str, str | None]]:
    return [(r.check, r.column) for r in report.results if not r.passed]


def run(tmp_path: Path, rows: list[list[str]], checks: DataChecks = CHECKS_OF_GOOD,
        header: list[str] | None = None) -> DataCheckReport:
    return check_data(checks, write_csv(tmp_path / "data.csv", rows, header))


# ------------------------------------------------------------------------------------------ passing

def test_good_data_passes_every_check(tmp_path: Path) -> None:
    report = run(tmp_path, good_rows())
    assert report.passed and report.rows == ROWS and failures(report) == []
    assert result(report, "readable").detail.endswith(f"{ROWS} rows, 4 columns (csv)")
    assert result(report, "volume").detail == "200 rows >= min 100"
    assert result(report, "schema", "amount").detail == "all 200 values are number"
    assert result(report, "missing", "country").detail == "0 of 200 values missing (0 <= max 0.05)"
    assert result(report, "range", "country").detail == "all 200 values in DE, FR"
    assert result(report, "range", "amount").detail.endswith("within [0, 1000]")
    assert result(report, "range", "count").detail == "min 0, max 6 within [0, inf]"
    assert [(r.check, r.column) for r in report.results if r.check == "anomalies"] == [
        ("anomalies", "amount"), ("anomalies", "count")]
    assert not [r for r in report.results if r.check == "drift"]


def test_results_are_sorted_by_check_then_column_and_serialise(tmp_path: Path) -> None:
    report = run(tmp_path, good_rows())
    keys = [(CHECKS.index(r.check), r.column or "") for r in report.results]
    assert keys == sorted(keys)
    payload = json.loads(json.dumps(report.to_json(), allow_nan=False))
    assert payload["passed"] is True and payload["rows"] == ROWS
    assert payload["results"][0] == {"check": "readable", "passed": True, "detail": report.results[0].detail}
    assert payload["results"][2]["column"] == "amount"
    assert run(tmp_path, good_rows()).to_json() == payload  # deterministic


def test_jsonl_is_read_with_absent_keys_and_null_as_missing(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"amount": 10.5 + i % 5, "country": "FR", "count": i % 3, "flag": i % 2 == 0}
                                     for i in range(ROWS)]
    rows[0]["country"] = None
    del rows[1]["country"]
    rows.append({"amount": 12, "country": "DE", "count": 1, "flag": True, "late": "x"})
    report = check_data(replace(CHECKS_OF_GOOD, format="jsonl"), write_jsonl(tmp_path / "d.jsonl", rows))
    assert report.rows == ROWS + 1
    assert result(report, "missing", "country").detail == "2 of 201 values missing (0.00995 <= max 0.05)"
    # a key first seen in the last row was missing from every row before it
    assert result(report, "missing", "late").detail == "200 of 201 values missing (0.995 > max 0.05)"
    assert failures(report) == [("missing", "late")]


# ------------------------------------------------------------------------------------------ readable

def test_missing_file_is_one_failed_result(tmp_path: Path) -> None:
    report = check_data(CHECKS_OF_GOOD, tmp_path / "nope.csv")
    assert not report.passed and report.rows == 0
    assert [(r.check, r.passed) for r in report.results] == [("readable", False)]
    assert "nope.csv: no such file" in report.results[0].detail


@pytest.mark.parametrize("content, reason", [
    (b"", "empty file; hint: a CSV file needs a header row"),
    (b"amount,country\n1,DE,extra\n", ":2: 3 fields, the header has 2"),
    (b"amount,amount\n1,2\n", "column 'amount' appears twice in the header"),
    (b",,\n1,2,3\n", "the header row is empty"),
    (b"amount\n\xff\xfe\n", "not UTF-8 text"),
    (b'amount\n"1"x\n', "not valid CSV"),
])
def test_unreadable_csv_fails_closed(tmp_path: Path, content: bytes, reason: str) -> None:
    (tmp_path / "data.csv").write_bytes(content)
    report = check_data(CHECKS_OF_GOOD, tmp_path / "data.csv")
    assert len(report.results) == 1 and failures(report) == [("readable", None)]
    assert reason in report.results[0].detail


@pytest.mark.parametrize("content, reason", [
    ("", "no columns: the file is empty"),
    ("\n\n", "no columns: the file is empty"),
    ('{"a": 1}\n{"a": \n', ":2: not JSON"),
    ('{"a": 1}\n[1, 2]\n', ":2: not a JSON object"),
])
def test_unreadable_jsonl_fails_closed(tmp_path: Path, content: str, reason: str) -> None:
    (tmp_path / "d.jsonl").write_text(content, encoding="utf-8")
    report = check_data(replace(CHECKS_OF_GOOD, format="jsonl"), tmp_path / "d.jsonl")
    assert failures(report) == [("readable", None)] and len(report.results) == 1
    assert reason in report.results[0].detail


def test_a_directory_and_an_unknown_format_fail_closed(tmp_path: Path) -> None:
    assert "not a file" in check_data(CHECKS_OF_GOOD, tmp_path).results[0].detail
    report = check_data(replace(CHECKS_OF_GOOD, format="xlsx"), write_csv(tmp_path / "d.csv", good_rows()))
    assert failures(report) == [("readable", None)]
    assert report.results[0].detail == "unknown data format 'xlsx'; hint: use one of csv, jsonl, parquet"


def test_parquet_is_read_with_pyarrow(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = good_rows()
    table = pa.table({"amount": [float(r[0]) for r in rows], "country": [r[1] for r in rows],
                      "count": [int(r[2]) for r in rows], "flag": [r[3] == "true" for r in rows]})
    pq.write_table(table, tmp_path / "d.parquet")
    report = check_data(replace(CHECKS_OF_GOOD, format="parquet"), tmp_path / "d.parquet")
    assert report.passed and report.rows == ROWS, failures(report)
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    bad = check_data(replace(CHECKS_OF_GOOD, format="parquet"), tmp_path / "bad.parquet")
    assert failures(bad) == [("readable", None)] and "not readable as Parquet" in bad.results[0].detail


# ------------------------------------------------------------------------------------------ each check fails

def test_too_few_rows_fails_volume_only(tmp_path: Path) -> None:
    report = run(tmp_path, good_rows(99))
    assert failures(report) == [("volume", None)]
    assert result(report, "volume").detail == "99 rows < min 100"


def test_header_only_reads_but_fails_volume(tmp_path: Path) -> None:
    report = run(tmp_path, [])
    assert result(report, "readable").passed
    assert failures(report) == [("volume", None)]


def test_missing_column_fails_schema(tmp_path: Path) -> None:
    checks = replace(CHECKS_OF_GOOD, columns=(*COLUMNS, column("label", "integer")))
    report = run(tmp_path, good_rows(), checks)
    assert failures(report) == [("schema", "label")]
    assert result(report, "schema", "label").detail == "column not in the data"


@pytest.mark.parametrize("name, value, detail", [
    ("amount", "abc", "1 of 200 values are not number (first: 'abc')"),
    ("amount", "inf", "1 of 200 values are not number (first: 'inf')"),
    ("amount", "1_000", "1 of 200 values are not number (first: '1_000')"),
    ("count", "3.5", "1 of 200 values are not integer (first: '3.5')"),
    ("count", "3.0", "1 of 200 values are not integer (first: '3.0')"),
    ("flag", "yes", "1 of 200 values are not boolean (first: 'yes')"),
    ("flag", "x" * 100, f"1 of 200 values are not boolean (first: {'x' * 40!r})"),
])
def test_a_value_of_the_wrong_type_fails_schema(tmp_path: Path, name: str, value: str, detail: str) -> None:
    rows = good_rows()
    rows[17][HEADER.index(name)] = value
    report = run(tmp_path, rows)
    assert failures(report) == [("schema", name)]
    assert result(report, "schema", name).detail == detail


@pytest.mark.parametrize("name, value", [("amount", "1e2"), ("amount", " 5 "), ("count", "-0"),
                                         ("flag", "TRUE"), ("flag", "0"), ("flag", "1")])
def test_values_that_parse_as_their_type(tmp_path: Path, name: str, value: str) -> None:
    rows = good_rows()
    rows[3][HEADER.index(name)] = value
    assert run(tmp_path, rows).passed


def test_jsonl_native_values_are_typed(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"amount": 1.5, "count": 2, "flag": False} for _ in range(ROWS)]
    rows[0] = {"amount": True, "count": 2.5, "flag": 2}
    checks = replace(CHECKS_OF_GOOD, format="jsonl", columns=COLUMNS[0:1] + COLUMNS[2:])
    report = check_data(checks, write_jsonl(tmp_path / "d.jsonl", rows))
    assert failures(report) == [("schema", "amount"), ("schema", "count"), ("schema", "flag")]
    assert result(report, "schema", "amount").detail.endswith("(first: 'true')")
    assert result(report, "schema", "flag").detail.endswith("(first: '2')")


@pytest.mark.parametrize("token", ["", "NA", "NaN", "null", "  "])
def test_a_missing_value_in_a_column_allowing_none_fails_missing(tmp_path: Path, token: str) -> None:
    rows = good_rows()
    rows[5][0] = token
    report = run(tmp_path, rows)
    assert failures(report) == [("missing", "amount")]  # a missing value is not also a type error
    assert result(report, "missing", "amount").detail == "1 of 200 values missing (0.005 > max 0)"


def test_too_many_missing_in_a_column_not_listed_uses_the_default(tmp_path: Path) -> None:
    rows = [r + (["" if i < 20 else "note"]) for i, r in enumerate(good_rows())]
    report = run(tmp_path, rows, header=[*HEADER, "note"])
    assert failures(report) == [("missing", "note")]
    assert result(report, "missing", "note").detail == "20 of 200 values missing (0.1 > max 0.05)"
    rows = [r + (["" if i < 10 else "note"]) for i, r in enumerate(good_rows())]
    assert run(tmp_path, rows, header=[*HEADER, "note"]).passed  # 0.05 is allowed


def test_out_of_range_numbers_fail_range(tmp_path: Path) -> None:
    rows = good_rows()
    rows[0][0], rows[1][0], rows[2][0] = "-5", "-0.5", "1500"
    report = run(tmp_path, rows)
    assert failures(report) == [("range", "amount")]
    assert result(report, "range", "amount").detail == (
        "2 values below min 0 (lowest -5); 1 values above max 1000 (highest 1500)")


def test_a_disallowed_value_fails_range(tmp_path: Path) -> None:
    rows = good_rows()
    rows[9][1] = "US"
    rows[10][1] = "IT"
    report = run(tmp_path, rows)
    assert failures(report) == [("range", "country")]
    assert result(report, "range", "country").detail == "2 values not allowed (first: 'US'; allowed: DE, FR)"


def test_too_many_outliers_fail_anomalies(tmp_path: Path) -> None:
    checks = replace(CHECKS_OF_GOOD, columns=(column("amount", "number"), *COLUMNS[1:]))
    rows = good_rows()
    rows[0][0] = "1000000"  # |z| about 14: one outlier in 200 rows is within 0.01
    report = run(tmp_path, rows, checks)
    assert report.passed
    assert result(report, "anomalies", "amount").detail == "1 of 200 rows have |z| > 6 (0.005 <= max 0.01)"
    rows[1][0] = rows[2][0] = "1000000"  # |z| about 8 each
    report = run(tmp_path, rows, checks)
    assert failures(report) == [("anomalies", "amount")]
    assert result(report, "anomalies", "amount").detail == "3 of 200 rows have |z| > 6 (0.015 > max 0.01)"


def test_numbers_too_large_for_statistics_fail_anomalies(tmp_path: Path) -> None:
    checks = replace(CHECKS_OF_GOOD, columns=(column("amount", "number"), *COLUMNS[1:]))
    rows = good_rows()
    rows[0][0] = rows[1][0] = "1e308"
    report = run(tmp_path, rows, checks)
    assert failures(report) == [("anomalies", "amount")]
    assert result(report, "anomalies", "amount").detail == "values too large to compute a mean and deviation"


def test_a_constant_column_has_no_outliers(tmp_path: Path) -> None:
    rows = [["5", "DE", "1", "true"] for _ in range(ROWS)]
    assert result(run(tmp_path, rows), "anomalies", "amount").detail == "constant column: no outliers"


# ------------------------------------------------------------------------------------------ drift

DRIFT = replace(CHECKS_OF_GOOD, drift=DriftCheck(reference="reference.csv", max_psi=0.2, bins=10))


def drift_report(tmp_path: Path, shift: float) -> DataCheckReport:
    reference = write_csv(tmp_path / "reference.csv", good_rows(2000, seed=7))
    return check_data(DRIFT, write_csv(tmp_path / "data.csv", good_rows(2000, seed=8, shift=shift)), reference)


def test_an_unshifted_sample_passes_drift(tmp_path: Path) -> None:
    report = drift_report(tmp_path, shift=0)
    assert report.passed, failures(report)
    detail = result(report, "drift", "amount").detail
    assert detail.startswith("PSI ") and "<= max 0.2 (2000 reference values, 2000 values)" in detail
    assert float(detail.split()[1]) < 0.05
    assert result(report, "drift", "count").passed


def test_a_shifted_distribution_fails_drift(tmp_path: Path) -> None:
    report = drift_report(tmp_path, shift=10)  # one standard deviation
    assert failures(report) == [("drift", "amount")]
    detail = result(report, "drift", "amount").detail
    assert "> max 0.2" in detail and float(detail.split()[1]) > 0.5


def test_an_unreadable_reference_fails_drift(tmp_path: Path) -> None:
    report = check_data(DRIFT, write_csv(tmp_path / "data.csv", good_rows()), tmp_path / "gone.csv")
    assert failures(report) == [("drift", None)]
    assert result(report, "drift").detail.startswith("reference data unreadable: ")
    assert "gone.csv: no such file" in result(report, "drift").detail


def test_a_reference_without_the_column_fails_drift(tmp_path: Path) -> None:
    reference = write_csv(tmp_path / "reference.csv", [r[1:] for r in good_rows()], header=HEADER[1:])
    report = check_data(DRIFT, write_csv(tmp_path / "data.csv", good_rows()), reference)
    assert failures(report) == [("drift", "amount")]
    assert result(report, "drift", "amount").detail.startswith("column not in the reference data")


def test_the_reference_defaults_to_the_path_in_the_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "reference.csv", good_rows())
    assert check_data(DRIFT, write_csv(tmp_path / "data.csv", good_rows())).passed


def test_psi_of_identical_samples_is_zero_and_edges_are_deduplicated() -> None:
    values = [float(i % 50) for i in range(1000)]
    assert population_stability_index(values, values, 10) == 0
    skewed = [0.0] * 80 + [float(i) for i in range(1, 21)]
    edges = quantile_edges(skewed, 10)
    assert edges == sorted(set(edges)) and edges[0] == 0.0 and len(edges) < 9
    assert quantile_edges([3.0] * 10, 10) == []  # one bin: nothing to compare, PSI 0
    assert population_stability_index([3.0] * 10, [4.0] * 10, 10) == 0


# ------------------------------------------------------------------------------------------ the command

@pytest.fixture
def project(tmp_path: Path) -> Path:
    """minimal-training.yaml with good data at the paths it names, relative to the spec."""
    spec = tmp_path / "proj" / "mlops.yaml"
    (spec.parent / "data").mkdir(parents=True)
    shutil.copyfile(MINIMAL_TRAINING, spec)
    header = ["amount", "country"]
    write_csv(spec.parent / "data" / "train.csv", [r[:2] for r in good_rows(500, seed=3)], header)
    write_csv(spec.parent / "data" / "reference.csv", [r[:2] for r in good_rows(500, seed=4)], header)
    return spec


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory that is not the spec's: spec paths must resolve against the spec."""
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path / "cwd"


Cli = Callable[..., CliResult]


def test_command_passes_good_data_and_writes_the_report(cli: Cli, project: Path, elsewhere: Path) -> None:
    result = cli("data-check", project, "--report", elsewhere / "out" / "report.json")
    assert result.code == 0, result.text
    lines = result.out.splitlines()
    assert lines[-1] == "data check: passed"
    assert lines[0].startswith("PASS readable: ") and "500 rows, 2 columns (csv)" in lines[0]
    assert "PASS range country: all 500 values in DE, FR" in lines
    assert any(line.startswith("PASS drift amount: PSI ") for line in lines)
    report = json.loads((elsewhere / "out" / "report.json").read_text(encoding="utf-8"))
    assert report["passed"] is True and report["rows"] == 500


def test_command_fails_closed_and_still_writes_the_report(cli: Cli, project: Path, elsewhere: Path) -> None:
    train = project.parent / "data" / "train.csv"
    train.write_text(train.read_text(encoding="utf-8") + "5.0,US\n", encoding="utf-8")
    result = cli("data-check", project, "--report", "report.json")
    assert result.code == 1
    fails = [line for line in result.out.splitlines() if line.startswith("FAIL")]
    assert fails == ["FAIL range country: 1 values not allowed (first: 'US'; allowed: DE, FR)"]
    total = sum(1 for line in result.out.splitlines() if line.startswith(("PASS", "FAIL")))
    assert result.out.splitlines()[-1] == f"data check: FAILED (1 of {total} checks): training does not start"
    assert json.loads((elsewhere / "report.json").read_text(encoding="utf-8"))["passed"] is False


def test_command_json_output(cli: Cli, project: Path, elsewhere: Path) -> None:
    (project.parent / "data" / "train.csv").unlink()
    result = cli("data-check", project, "--format", "json")
    assert result.code == 1
    payload = json.loads(result.out)
    assert payload["passed"] is False and payload["rows"] == 0
    assert [(r["check"], r["passed"]) for r in payload["results"]] == [("readable", False)]
    assert "data/train.csv: no such file" in payload["results"][0]["detail"]


def test_command_data_and_reference_options_resolve_from_the_working_directory(
        cli: Cli, project: Path, elsewhere: Path) -> None:
    write_csv(elsewhere / "small.csv", [["1", "DE"]], header=["amount", "country"])
    result = cli("data-check", project, "--data", "small.csv", "--reference", "missing-ref.csv")
    assert result.code == 1
    assert "FAIL volume: 1 rows < min 100" in result.out
    assert "FAIL drift: reference data unreadable: missing-ref.csv: no such file" in result.out


def test_command_refuses_a_spec_without_training(cli: Cli, tmp_path: Path) -> None:
    result = cli("data-check", MINIMAL_NO_TRAINING)
    assert result.code == 1
    assert "has no training section" in result.err and "hint: add training.dataChecks" in result.err


def test_command_refuses_a_reference_without_a_drift_check(cli: Cli, project: Path, elsewhere: Path) -> None:
    edit_text(project, "    drift: {reference: data/reference.csv, maxPsi: 0.2, bins: 10}\n", "")
    assert cli("data-check", project).code == 0
    result = cli("data-check", project, "--reference", "r.csv")
    assert result.code == 1 and "--reference given" in result.err


def test_parquet_without_pyarrow_is_a_user_error_naming_the_package(cli: Cli, project: Path, elsewhere: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """pyarrow stays optional (the parquet extra): missing at run time, the command says which package
    and how to install it, exit 1, and writes no report (the data was never read)."""
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # None in sys.modules makes the import raise ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    project.write_text(project.read_text(encoding="utf-8").replace("format: csv", "format: parquet")
                       .replace("train.csv", "train.parquet"), encoding="utf-8")
    (project.parent / "data" / "train.parquet").write_bytes(b"PAR1 not really PAR1")
    result = cli("data-check", project, "--report", "report.json")
    assert result.code == 1, result.text
    data = project.parent / "data" / "train.parquet"
    assert result.err == (f"mlopsgen: reading the Parquet training data {data} needs the Python package pyarrow, "
                          "which is not installed\n    hint: install it: python3 -m pip install 'mlopsgen[parquet]' "
                          "(or: python3 -m pip install pyarrow)\n")
    assert "Traceback" not in result.text and not (elsewhere / "report.json").exists()
