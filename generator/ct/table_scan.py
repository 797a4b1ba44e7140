"""One streamed pass over a training table (CSV, JSON Lines or Parquet): row count, and per
declared column what is present, its types and, for numeric columns, the values as floats
(generator/ct/datacheck.py checks them)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from generator.model import ColumnCheck
from generator.packages import import_for

NUMERIC = frozenset({"number", "integer"})
MISSING_TOKENS = frozenset({"", "NA", "NaN", "null"})
BOOLEAN_TOKENS = frozenset({"true", "false", "1", "0"})
EXAMPLE_CHARS = 40


class UnreadableData(Exception):
    """The data cannot be read; the message says why (and how to fix it, where we know)."""


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
