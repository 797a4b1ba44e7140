"""The model learns, saves and loads, and predicts through the batch entry point."""

from __future__ import annotations

import json

import pytest

from {{ cookiecutter.__package }} import data, evaluate, predict, validate_data
from {{ cookiecutter.__package }}.model import LogisticRegression, accuracy
from {{ cookiecutter.__package }}.train import train


def test_training_beats_the_majority_class() -> None:
    model, acc = train()
    _, _, _, test_labels = data.split(*data.load())
    majority = max(sum(test_labels), len(test_labels) - sum(test_labels)) / len(test_labels)
    assert acc > majority
    assert acc >= 0.85  # the gate in mlops.yaml: ci.tests.modelValidation.thresholds.accuracy


def test_save_and_load_round_trip(tmp_path) -> None:
    model, _ = train()
    loaded = LogisticRegression.load(model.save(tmp_path / "model.json"))
    rows, labels = data.load(50, seed=1)
    assert accuracy(loaded, rows, labels) == accuracy(model, rows, labels)


def test_missing_values_are_imputed() -> None:
    model, _ = train()
    assert 0.0 <= model.predict_proba([None, None, None, None]) <= 1.0


def test_predict_accepts_lists_and_objects() -> None:
    out = predict.predict([[500.0, 10.0, 20.0, 0.9], {"amount": 1.0, "age_days": 3000.0, "items": 0, "score": None}])
    assert [set(p) for p in out] == [{"score", "label"}] * 2
    assert out[0]["score"] > out[1]["score"]


@pytest.mark.parametrize("bad", [[1.0, 2.0], {"colour": 1}, ["a", 1, 2, 3]])
def test_predict_refuses_malformed_rows(bad) -> None:
    with pytest.raises(ValueError):
        predict.predict([bad])


def test_evaluate_writes_the_gate_metrics(tmp_path) -> None:
    out = tmp_path / "metrics.json"
    assert evaluate.main(["--model", str(tmp_path / "absent.json"), "--out", str(out)]) == 0
    assert json.loads(out.read_text())["accuracy"] >= 0.85


def test_data_validation_passes_on_the_training_data() -> None:
    assert validate_data.problems(*data.load()) == []
    assert validate_data.problems([[2000.0, 1.0, 1.0, None]], [3])
