"""Batch prediction: python -m {{ cookiecutter.__package }}.predict < rows.json

Input: a JSON list of rows, each a list of the FEATURES in order or an object keyed by feature
name (null for a missing value). Output: a JSON list of {"score": p, "label": 0|1}."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import Any

from .data import FEATURES, Row
from .model import DEFAULT_PATH, LogisticRegression
from .train import train


@cache
def load_model() -> LogisticRegression:
    """The saved model (python -m ...train), else one trained now (it takes well under a second)."""
    return LogisticRegression.load(DEFAULT_PATH) if DEFAULT_PATH.exists() else train()[0]


def to_row(instance: Any) -> Row:
    if isinstance(instance, dict):
        unknown = set(instance) - set(FEATURES)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}; expected {list(FEATURES)}")
        instance = [instance.get(name) for name in FEATURES]
    if not isinstance(instance, list) or len(instance) != len(FEATURES):
        raise ValueError(f"each instance must be a list of {len(FEATURES)} values or an object of {list(FEATURES)}")
    row: Row = []
    for value in instance:
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ValueError(f"feature values must be numbers or null, got {value!r}")
        row.append(None if value is None else float(value))
    return row


def predict(instances: list[Any], model: LogisticRegression | None = None) -> list[dict[str, float | int]]:
    model = model or load_model()
    out: list[dict[str, float | int]] = []
    for instance in instances:
        score = model.predict_proba(to_row(instance))
        out.append({"score": round(score, 6), "label": int(score >= 0.5)})
    return out


def main() -> int:
    print(json.dumps(predict(json.load(sys.stdin))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
