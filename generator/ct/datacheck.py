"""The training data's checks before a retraining run starts; every doubt fails the run.

Data that cannot be read (no file, not parseable, no header, Parquet without pyarrow) is one
failed `readable` result, never an exception: a run must not train on data nobody looked at.
CSV and JSON Lines are streamed; only the declared numeric columns are kept, as lists of floats,
for the outlier and drift statistics.
"""

from __future__ import annotations

import bisect
import csv
import json
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from generator.model import ColumnCheck, DataChecks, DriftCheck
from generator.packages import import_for

# the order results are reported in; within a check, by column
CHECKS = ("readable", "volume", "schema", "missing", "range", "anomalies", "drift")
NUMERIC = frozenset({"number", "integer"})
TYPES = NUMERIC | {"string", "boolean"}
MISSING_TOKENS = frozenset({"", "NA", "NaN", "null"})
BOOLEAN_TOKENS = frozenset({"true", "false", "1", "0"})
PSI_EPSILON = 1e-4  # stands in for an empty bin's share, so the logarithm stays finite
EXAMPLE_CHARS = 40


@dataclass(frozen=True)
class CheckResult:
    check: str
    column: str | None
    passed: bool
    detail: str

    def format(self) -> str:
        where = f"{self.check} {self.column}" if self.column is not None else self.check
        return f"{'PASS' if self.passed else 'FAIL'} {where}: {self.detail}"

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"check": self.check}
        if self.column is not None:
            out["column"] = self.column
        out["passed"] = self.passed
        out["detail"] = self.detail
        return out


@dataclass(frozen=True)
class DataCheckReport:
    passed: bool
    rows: int
    results: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def to_json(self) -> dict[str, object]:
        return {"passed": self.passed, "rows": self.rows, "results": [r.to_json() for r in self.results]}


class UnreadableData(Exception):
    """The data cannot be read; the message says why (and how to fix it, where we know)."""


def check_data(checks: DataChecks, data: Path, reference: Path | None = None) -> DataCheckReport:
    """Every check of `checks` on the table at `data`; drift against `reference`
    (default: checks.drift.reference as given)."""
    declared = {c.name: c for c in checks.columns}
    try:
        scan = scan_table(data, checks.format, declared)
    except UnreadableData as exc:
        return DataCheckReport(False, 0, [CheckResult("readable", None, False, str(exc))])
    results = [
        CheckResult("readable", None, True, f"{data}: {scan.rows} rows, {len(scan.columns)} columns ({checks.format})"),
        _volume(scan.rows, checks.min_rows),
    ]
    for name in sorted(scan.columns):
        column = scan.columns[name]
        check = declared.get(name)
        limit = check.max_missing if check is not None else checks.max_missing
        results.append(_missing(name, scan.rows, column.present, limit))
        if check is not None:
            results.append(_schema(check, column))
            results.extend(_range(check, column))
            if check.type in NUMERIC:
                results.append(_anomalies(name, scan.rows, column.values, checks))
    for name in sorted(set(declared) - set(scan.columns)):
        results.append(CheckResult("schema", name, False, "column not in the data"))
    if checks.drift is not None:
        ref_path = reference if reference is not None else Path(checks.drift.reference)
        results.extend(_drift(checks.drift, checks.format, scan, ref_path))
    results.sort(key=lambda r: (CHECKS.index(r.check), r.column or ""))
    return DataCheckReport(all(r.passed for r in results), scan.rows, results)


# ---------------------------------------------------------------------------------------- reading

@dataclass
class ColumnScan:
    """What one pass over the data learned about a column."""

    check: ColumnCheck | None
    present: int = 0  # values that are not missing
    bad: int = 0  # present values that do not parse as the declared type
    first_bad: str = ""
    values: list[float] = field(default_factory=list)  # declared numeric columns only
    disallowed: int = 0
    first_disallowed: str = ""

    def observe(self, value: object) -> None:
        self.present += 1
        check = self.check
        if check is None or (check.type == "string" and not check.allowed):
            return
        if check.type in NUMERIC:
            number = _number(value, integer=check.type == "integer")
            if number is not None:
                self.values.append(number)
                return
        elif check.type == "boolean":
            if _is_boolean(value):
                return
        elif check.type == "string":
            if _text(value) not in check.allowed:
                self.disallowed += 1
                self.first_disallowed = self.first_disallowed or _example(value)
            return
        self.bad += 1
        self.first_bad = self.first_bad or _example(value)


@dataclass
class TableScan:
    declared: dict[str, ColumnCheck]
    rows: int = 0
    columns: dict[str, ColumnScan] = field(default_factory=dict)

    def add_columns(self, names: Iterable[str]) -> None:
        for name in names:
            if name not in self.columns:
                self.columns[name] = ColumnScan(self.declared.get(name))

    def add_row(self, items: Iterable[tuple[str, object]]) -> None:
        self.rows += 1
        for name, value in items:
            column = self.columns.get(name)
            if column is None:  # JSON Lines: a key first seen in this row was missing from every earlier one
                column = self.columns[name] = ColumnScan(self.declared.get(name))
            if not _is_missing(value):
                column.observe(value)


def scan_table(path: Path, fmt: str, declared: dict[str, ColumnCheck]) -> TableScan:
    """One streaming pass over the table; raises UnreadableData, nothing else, on data it cannot read."""
    scan = TableScan(declared)
    readers = {"csv": _scan_csv, "jsonl": _scan_jsonl, "parquet": _scan_parquet}
    reader = readers.get(fmt)
    if reader is None:
        raise UnreadableData(f"unknown data format {fmt!r}; hint: use one of csv, jsonl, parquet")
    if not path.exists():
        raise UnreadableData(f"{path}: no such file; hint: the training data must be fetched before the check")
    if not path.is_file():
        raise UnreadableData(f"{path}: not a file")
    try:
        reader(path, scan)
    except UnicodeDecodeError as exc:
        raise UnreadableData(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise UnreadableData(f"{path}: cannot read: {exc.strerror or exc}") from None
    except csv.Error as exc:
        raise UnreadableData(f"{path}: not valid CSV: {exc}") from None
    if not scan.columns:
        raise UnreadableData(f"{path}: no columns" + (": the file is empty" if scan.rows == 0 else ""))
    return scan


def _scan_csv(path: Path, scan: TableScan) -> None:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle, strict=True)  # malformed quoting is an error, not a guess
        header = next(reader, None)
        if header is None:
            raise UnreadableData(f"{path}: empty file; hint: a CSV file needs a header row naming its columns")
        _check_header(path, header)
        scan.add_columns(header)
        for record in reader:
            if not record:  # a blank line
                continue
            if len(record) != len(header):
                raise UnreadableData(f"{path}:{reader.line_num}: {len(record)} fields, "
                                     f"the header has {len(header)}")
            scan.add_row(zip(header, record, strict=True))


def _check_header(path: Path, header: list[str]) -> None:
    if not any(name.strip() for name in header):
        raise UnreadableData(f"{path}: the header row is empty; hint: the first line must name the columns")
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise UnreadableData(f"{path}: column {name!r} appears twice in the header")
        seen.add(name)


def _scan_jsonl(path: Path, scan: TableScan) -> None:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
                raise UnreadableData(f"{path}:{number}: not JSON: {message}") from None
            if not isinstance(row, dict):
                raise UnreadableData(f"{path}:{number}: not a JSON object; hint: JSON Lines holds one object a line")
            scan.add_row(row.items())


def _scan_parquet(path: Path, scan: TableScan) -> None:
    parquet = import_for("pyarrow.parquet", package="pyarrow", extra="parquet",
                         purpose=f"reading the Parquet training data {path}")
    try:
        table = parquet.ParquetFile(str(path))
        scan.add_columns(str(name) for name in table.schema_arrow.names)
        for batch in table.iter_batches(batch_size=65536):
            for row in batch.to_pylist():
                scan.add_row(row.items())
    except Exception as exc:  # pyarrow's errors are its own; any of them means unreadable
        raise UnreadableData(f"{path}: not readable as Parquet: {exc}") from None


# ---------------------------------------------------------------------------------------- values

def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and value.strip() in MISSING_TOKENS


def _number(value: object, integer: bool) -> float | None:
    """The value as a finite float, or None if it is not a number (not an integer, if integer)."""
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int) or (isinstance(value, (float, Decimal)) and not integer):
            number = float(value)
        elif isinstance(value, str) and "_" not in value:  # Python reads 1_000; a data file does not mean it
            number = float(int(value)) if integer else float(value)
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _is_boolean(value: object) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return value in (0, 1)
    return isinstance(value, str) and value.strip().lower() in BOOLEAN_TOKENS


def _text(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _example(value: object) -> str:
    return repr(_text(value)[:EXAMPLE_CHARS])


def _g(value: float) -> str:
    return f"{value:.4g}"


# ---------------------------------------------------------------------------------------- checks

def _volume(rows: int, min_rows: int) -> CheckResult:
    if rows < min_rows:
        return CheckResult("volume", None, False, f"{rows} rows < min {min_rows}")
    return CheckResult("volume", None, True, f"{rows} rows >= min {min_rows}")


def _missing(name: str, rows: int, present: int, limit: float) -> CheckResult:
    missing = rows - present
    fraction = missing / rows if rows else 0.0
    passed = fraction <= limit
    detail = f"{missing} of {rows} values missing ({_g(fraction)} {'<=' if passed else '>'} max {_g(limit)})"
    return CheckResult("missing", name, passed, detail)


def _schema(check: ColumnCheck, column: ColumnScan) -> CheckResult:
    if check.type not in TYPES:
        return CheckResult("schema", check.name, False,
                           f"unknown type {check.type!r}; hint: use one of {', '.join(sorted(TYPES))}")
    if column.bad:
        return CheckResult("schema", check.name, False, f"{column.bad} of {column.present} values are not "
                           f"{check.type} (first: {column.first_bad})")
    return CheckResult("schema", check.name, True, f"all {column.present} values are {check.type}")


def _range(check: ColumnCheck, column: ColumnScan) -> list[CheckResult]:
    name = check.name
    if check.type == "string" and check.allowed:
        allowed = ", ".join(check.allowed)
        if column.disallowed:
            return [CheckResult("range", name, False, f"{column.disallowed} values not allowed "
                                f"(first: {column.first_disallowed}; allowed: {allowed})")]
        return [CheckResult("range", name, True, f"all {column.present} values in {allowed}")]
    if check.type not in NUMERIC or (check.minimum is None and check.maximum is None):
        return []
    low = _g(check.minimum) if check.minimum is not None else "-inf"
    high = _g(check.maximum) if check.maximum is not None else "inf"
    if not column.values:
        return [CheckResult("range", name, True, f"no values to check against [{low}, {high}]")]
    smallest, largest = min(column.values), max(column.values)
    problems = []
    if check.minimum is not None and smallest < check.minimum:
        below = sum(1 for v in column.values if v < check.minimum)
        problems.append(f"{below} values below min {low} (lowest {_g(smallest)})")
    if check.maximum is not None and largest > check.maximum:
        above = sum(1 for v in column.values if v > check.maximum)
        problems.append(f"{above} values above max {high} (highest {_g(largest)})")
    if problems:
        return [CheckResult("range", name, False, "; ".join(problems))]
    return [CheckResult("range", name, True, f"min {_g(smallest)}, max {_g(largest)} within [{low}, {high}]")]


def _anomalies(name: str, rows: int, values: list[float], checks: DataChecks) -> CheckResult:
    limit, z = checks.max_outlier_fraction, checks.outlier_z
    if not values:
        return CheckResult("anomalies", name, True, "no values")
    try:
        mean = math.fsum(values) / len(values)
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / len(values))
    except OverflowError:  # values near the float limit: no statistic can be trusted, so none passes
        return CheckResult("anomalies", name, False, "values too large to compute a mean and deviation")
    if std == 0:
        return CheckResult("anomalies", name, True, "constant column: no outliers")
    outliers = sum(1 for v in values if abs(v - mean) / std > z)
    fraction = outliers / rows
    passed = fraction <= limit
    return CheckResult("anomalies", name, passed, f"{outliers} of {rows} rows have |z| > {_g(z)} "
                       f"({_g(fraction)} {'<=' if passed else '>'} max {_g(limit)})")


def _drift(drift: DriftCheck, fmt: str, scan: TableScan, reference: Path) -> list[CheckResult]:
    numeric = {name: c for name, c in scan.declared.items() if c.type in NUMERIC and name in scan.columns}
    try:
        ref = scan_table(reference, fmt, numeric)
    except UnreadableData as exc:
        return [CheckResult("drift", None, False, f"reference data unreadable: {exc}")]
    if not numeric:
        return [CheckResult("drift", None, True, "no numeric columns to compare")]
    results = []
    for name in sorted(numeric):
        current = scan.columns[name].values
        if name not in ref.columns:
            results.append(CheckResult("drift", name, False, f"column not in the reference data {reference}"))
        elif not ref.columns[name].values:
            results.append(CheckResult("drift", name, False, "no values in the reference data to compare with"))
        elif not current:
            results.append(CheckResult("drift", name, False, "no values in the data to compare"))
        else:
            psi = population_stability_index(ref.columns[name].values, current, drift.bins)
            passed = psi <= drift.max_psi
            results.append(CheckResult("drift", name, passed, f"PSI {_g(psi)} {'<=' if passed else '>'} max "
                                       f"{_g(drift.max_psi)} ({len(ref.columns[name].values)} reference "
                                       f"values, {len(current)} values)"))
    return results


def population_stability_index(reference: list[float], current: list[float], bins: int) -> float:
    """PSI over quantile bins of the reference (right-closed, duplicate edges merged)."""
    edges = quantile_edges(reference, bins)
    expected = _shares(reference, edges)
    actual = _shares(current, edges)
    return math.fsum((a - e) * math.log(a / e) for e, a in zip(expected, actual, strict=True))


def quantile_edges(values: list[float], bins: int) -> list[float]:
    """The inner edges of `bins` equal-count bins of values, without duplicates."""
    if bins < 2 or len(set(values)) < 2:
        return []
    return sorted(set(statistics.quantiles(values, n=bins, method="inclusive")))


def _shares(values: list[float], edges: list[float]) -> list[float]:
    counts = [0] * (len(edges) + 1)
    for v in values:
        counts[bisect.bisect_left(edges, v)] += 1
    return [max(c / len(values), PSI_EPSILON) for c in counts]
