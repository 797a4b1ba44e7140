"""The training data's checks before a retraining run starts; every doubt fails the run.

Data that cannot be read (no file, not parseable, no header, Parquet without pyarrow) is one
failed `readable` result, never an exception: a run must not train on data nobody looked at.
CSV and JSON Lines are streamed; only the declared numeric columns are kept, as lists of floats,
for the outlier and drift statistics.
"""

from __future__ import annotations

import bisect
import math
import statistics
from pathlib import Path

from generator.ct.table_scan import NUMERIC, ColumnScan, TableScan, UnreadableData, scan_table
from generator.frozen import frozen
from generator.model import ColumnCheck, DataChecks, DriftCheck

# the order results are reported in; within a check, by column
CHECKS = ("readable", "volume", "schema", "missing", "range", "anomalies", "drift")
TYPES = NUMERIC | {"string", "boolean"}
PSI_EPSILON = 1e-4  # stands in for an empty bin's share, so the logarithm stays finite


@frozen
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


@frozen
class DataCheckReport:
    passed: bool
    rows: int
    results: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    def to_json(self) -> dict[str, object]:
        return {"passed": self.passed, "rows": self.rows, "results": [r.to_json() for r in self.results]}


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


# ---------------------------------------------------------------------------------------- checks

def _g(value: float) -> str:
    return f"{value:.4g}"


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
