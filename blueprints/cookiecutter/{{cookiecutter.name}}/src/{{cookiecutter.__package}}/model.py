"""A logistic regression written by hand (standard library only): standardised features, batch
gradient descent with L2, missing values imputed with the training mean."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .data import FEATURES, Row

DEFAULT_PATH = Path(__file__).resolve().parent / "model.json"


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass
class LogisticRegression:
    weights: list[float] = field(default_factory=lambda: [0.0] * len(FEATURES))
    bias: float = 0.0
    means: list[float] = field(default_factory=lambda: [0.0] * len(FEATURES))
    scales: list[float] = field(default_factory=lambda: [1.0] * len(FEATURES))

    def _standardise(self, row: Row) -> list[float]:
        if len(row) != len(FEATURES):
            raise ValueError(f"expected {len(FEATURES)} features {FEATURES}, got {len(row)}")
        out = []
        for value, mean, scale in zip(row, self.means, self.scales, strict=True):
            x = mean if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
            out.append((x - mean) / scale)
        return out

    def fit(self, rows: list[Row], labels: list[int], epochs: int = 300, rate: float = 0.5,
            l2: float = 1e-3) -> LogisticRegression:
        n = len(rows)
        columns = list(zip(*rows, strict=True))
        self.means = []
        self.scales = []
        for column in columns:
            present = [float(v) for v in column if v is not None]
            mean = sum(present) / len(present) if present else 0.0
            var = sum((v - mean) ** 2 for v in present) / len(present) if present else 1.0
            self.means.append(mean)
            self.scales.append(math.sqrt(var) or 1.0)
        xs = [self._standardise(r) for r in rows]
        k = len(FEATURES)
        self.weights = [0.0] * k
        self.bias = 0.0
        for _ in range(epochs):
            grad_w = [0.0] * k
            grad_b = 0.0
            for x, y in zip(xs, labels, strict=True):
                err = _sigmoid(self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True))) - y
                grad_b += err
                for j in range(k):
                    grad_w[j] += err * x[j]
            self.bias -= rate * grad_b / n
            self.weights = [w - rate * (g / n + l2 * w) for w, g in zip(self.weights, grad_w, strict=True)]
        return self

    def predict_proba(self, row: Row) -> float:
        x = self._standardise(row)
        return _sigmoid(self.bias + sum(w * v for w, v in zip(self.weights, x, strict=True)))

    def predict(self, row: Row, threshold: float = 0.5) -> int:
        return int(self.predict_proba(row) >= threshold)

    def save(self, path: Path = DEFAULT_PATH) -> Path:
        payload = {"features": list(FEATURES), "weights": self.weights, "bias": self.bias,
                   "means": self.means, "scales": self.scales}
        path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> LogisticRegression:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("features") != list(FEATURES):
            raise ValueError(f"{path} was trained on other features: {payload.get('features')}")
        return cls(payload["weights"], payload["bias"], payload["means"], payload["scales"])


def accuracy(model: LogisticRegression, rows: list[Row], labels: list[int]) -> float:
    return sum(model.predict(r) == y for r, y in zip(rows, labels, strict=True)) / len(labels)
