"""The model-validation gate's metrics: python -m {{ cookiecutter.__package }}.evaluate --out metrics.json

Writes a JSON object; `mlopsgen gate mlops.yaml --metrics metrics.json` checks it against
ci.tests.modelValidation.thresholds in the spec."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import data
from .model import DEFAULT_PATH, LogisticRegression, accuracy
from .train import train


def evaluate(path: Path = DEFAULT_PATH) -> dict[str, float]:
    model = LogisticRegression.load(path) if path.exists() else train()[0]
    rows, labels = data.load()
    _, _, test_rows, test_labels = data.split(rows, labels)
    predictions = [model.predict(r) for r in test_rows]
    positives = sum(predictions) or 1
    true_pos = sum(p == 1 and y == 1 for p, y in zip(predictions, test_labels, strict=True))
    return {"accuracy": round(accuracy(model, test_rows, test_labels), 4),
            "precision": round(true_pos / positives, 4), "rows": float(len(test_rows))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--out", type=Path, default=Path("metrics.json"))
    args = parser.parse_args(argv)
    metrics = evaluate(args.model)
    args.out.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
