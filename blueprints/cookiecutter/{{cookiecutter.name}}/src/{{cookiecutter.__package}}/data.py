"""The data: four numeric features, a binary label. A seeded synthetic set stands in for the real
one; replace `load` with your own reader (it must return rows of FEATURES and labels)."""

from __future__ import annotations

import math
import random

FEATURES = ("amount", "age_days", "items", "score")
RANGES = {"amount": (0.0, 1000.0), "age_days": (0.0, 3650.0), "items": (0.0, 50.0), "score": (0.0, 1.0)}
_TRUE_WEIGHTS = (0.016, -0.0032, 0.2, 8.0)
_TRUE_BIAS = -11.2

Row = list[float | None]


def load(n: int = 600, seed: int = 7) -> tuple[list[Row], list[int]]:
    """n rows and their labels, the same on every call with the same seed."""
    rng = random.Random(seed)
    rows: list[Row] = []
    labels: list[int] = []
    for _ in range(n):
        row: Row = [rng.uniform(*RANGES[name]) for name in FEATURES]
        z = _TRUE_BIAS + sum(w * x for w, x in zip(_TRUE_WEIGHTS, row, strict=True) if x is not None)
        labels.append(1 if rng.random() < 1.0 / (1.0 + math.exp(-z)) else 0)
        rows.append(row)
    return rows, labels


def split(rows: list[Row], labels: list[int], holdout: float = 0.25) -> tuple[
        list[Row], list[int], list[Row], list[int]]:
    cut = int(len(rows) * (1.0 - holdout))
    return rows[:cut], labels[:cut], rows[cut:], labels[cut:]
