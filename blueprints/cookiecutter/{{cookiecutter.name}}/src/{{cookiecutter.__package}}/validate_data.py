"""Data validation: every row has the features, values lie in range, few are missing.
python -m {{ cookiecutter.__package }}.validate_data  (exit 1 with one line per problem)"""

from __future__ import annotations

import sys

from . import data

MAX_MISSING_SHARE = 0.05


def problems(rows: list[data.Row], labels: list[int]) -> list[str]:
    found = []
    if len(rows) != len(labels):
        found.append(f"{len(rows)} rows but {len(labels)} labels")
    if set(labels) - {0, 1}:
        found.append(f"labels must be 0 or 1, found {sorted(set(labels) - {0, 1})}")
    missing = 0
    for i, row in enumerate(rows):
        if len(row) != len(data.FEATURES):
            found.append(f"row {i}: {len(row)} values, expected {len(data.FEATURES)}")
            continue
        for name, value in zip(data.FEATURES, row, strict=True):
            if value is None:
                missing += 1
                continue
            low, high = data.RANGES[name]
            if not low <= value <= high:
                found.append(f"row {i}: {name}={value} outside [{low}, {high}]")
    total = len(rows) * len(data.FEATURES) or 1
    if missing / total > MAX_MISSING_SHARE:
        found.append(f"{missing / total:.1%} of values missing (at most {MAX_MISSING_SHARE:.0%})")
    return found


def main() -> int:
    found = problems(*data.load())
    for line in found:
        print(line, file=sys.stderr)
    print("data: ok" if not found else f"data: {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
