"""Train the model and save it: python -m {{ cookiecutter.__package }}.train [--out model.json]"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import data
from .model import DEFAULT_PATH, LogisticRegression, accuracy


def train() -> tuple[LogisticRegression, float]:
    rows, labels = data.load()
    train_rows, train_labels, test_rows, test_labels = data.split(rows, labels)
    model = LogisticRegression().fit(train_rows, train_labels)
    return model, accuracy(model, test_rows, test_labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    model, acc = train()
    print(f"saved {model.save(args.out)} (holdout accuracy {acc:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
