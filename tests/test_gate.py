"""`mlopsgen gate`: model-validation metrics against the fraud-detector spec's thresholds
(auc min 0.92, recall_at_1pct_fpr min 0.6, p95_latency_ms max 40)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Project

GOOD = {"auc": 0.95, "recall_at_1pct_fpr": 0.7, "p95_latency_ms": 30}


@pytest.fixture
def metrics(tmp_path: Path) -> Path:
    return tmp_path / "metrics.json"


def gate(cli, project: Project, metrics: Path, *extra: str):  # type: ignore[no-untyped-def]
    return cli("gate", project.spec, "--metrics", metrics, *extra)


def write(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def test_all_within_bounds_passes(fraud: Project, cli, metrics: Path) -> None:
    result = gate(cli, fraud, write(metrics, GOOD))
    assert result.code == 0, result.text
    assert "PASS auc" in result.out and "model gate: passed" in result.out


def test_extra_metrics_are_ignored(fraud: Project, cli, metrics: Path) -> None:
    assert gate(cli, fraud, write(metrics, {**GOOD, "accuracy": 0.1})).code == 0


def test_bounds_are_inclusive(fraud: Project, cli, metrics: Path) -> None:
    edge = {"auc": 0.92, "recall_at_1pct_fpr": 0.6, "p95_latency_ms": 40}
    assert gate(cli, fraud, write(metrics, edge)).code == 0


@pytest.mark.parametrize("metric, value, reason", [
    ("auc", 0.91, "0.91 < min 0.92"),
    ("recall_at_1pct_fpr", 0.2, "0.2 < min 0.6"),
    ("p95_latency_ms", 41, "41 > max 40"),
])
def test_one_metric_out_of_bounds_fails(fraud: Project, cli, metrics: Path, metric: str, value: float,
                                        reason: str) -> None:
    result = gate(cli, fraud, write(metrics, {**GOOD, metric: value}))
    assert result.code == 1
    assert f"FAIL {metric}: {reason}" in result.out
    assert [line for line in result.out.splitlines() if line.startswith("FAIL")] == [f"FAIL {metric}: {reason}"]
    assert "FAILED" in result.out


def test_missing_metric_fails(fraud: Project, cli, metrics: Path) -> None:
    result = gate(cli, fraud, write(metrics, {"auc": 0.95, "p95_latency_ms": 30}))
    assert result.code == 1
    assert "FAIL recall_at_1pct_fpr: missing" in result.out


def test_missing_metrics_file_fails_without_traceback(fraud: Project, cli, metrics: Path) -> None:
    result = gate(cli, fraud, metrics)
    assert result.code == 1
    assert "cannot read metrics file" in result.err and str(metrics) in result.err
    assert "Traceback" not in result.text


@pytest.mark.parametrize("content", ["auc: 0.95\n", "", "{\"auc\": 0.95", b"\xff\xfe{}"])
def test_metrics_file_that_is_not_json_fails(fraud: Project, cli, metrics: Path, content: str | bytes) -> None:
    if isinstance(content, bytes):
        metrics.write_bytes(content)
    else:
        metrics.write_text(content)
    result = gate(cli, fraud, metrics)
    assert result.code == 1
    assert "is not JSON" in result.err
    assert "Traceback" not in result.text


@pytest.mark.parametrize("value", [[GOOD], 0.95, "auc", None])
def test_metrics_that_are_not_an_object_fail(fraud: Project, cli, metrics: Path, value: object) -> None:
    result = gate(cli, fraud, write(metrics, value))
    assert result.code == 1
    assert "must hold a JSON object" in result.err


@pytest.mark.parametrize("raw, shown", [("NaN", "nan"), ('"0.95"', "'0.95'"), ("true", "True"),
                                        ("null", None), ("[0.95]", "[0.95]"), ('{"v": 1}', "{'v': 1}")])
def test_values_that_are_not_numbers_fail(fraud: Project, cli, metrics: Path, raw: str, shown: str | None) -> None:
    metrics.write_text(f'{{"auc": {raw}, "recall_at_1pct_fpr": 0.7, "p95_latency_ms": 30}}')
    result = gate(cli, fraud, metrics)
    assert result.code == 1
    line = next(line for line in result.out.splitlines() if " auc: " in line)
    assert line.startswith("FAIL")
    if shown is not None:
        assert f"not a number: {shown}" in line


@pytest.mark.parametrize("metric, raw", [("auc", "Infinity"), ("p95_latency_ms", "-Infinity")])
def test_infinite_values_fail(fraud: Project, cli, metrics: Path, metric: str, raw: str) -> None:
    values = {k: json.dumps(v) for k, v in GOOD.items()} | {metric: raw}
    metrics.write_text("{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}")
    assert gate(cli, fraud, metrics).code == 1


def test_json_format(fraud: Project, cli, metrics: Path) -> None:
    result = gate(cli, fraud, write(metrics, {"auc": 0.95, "p95_latency_ms": 45}), "--format", "json")
    assert result.code == 1
    payload = json.loads(result.out)
    assert payload["passed"] is False
    by_metric = {m["metric"]: m for m in payload["metrics"]}
    assert set(by_metric) == {"auc", "recall_at_1pct_fpr", "p95_latency_ms"}
    for m in payload["metrics"]:
        assert set(m) == {"metric", "value", "min", "max", "passed", "reason"}
    assert by_metric["auc"] == {"metric": "auc", "value": 0.95, "min": 0.92, "max": None, "passed": True,
                                "reason": "0.95 within bounds"}
    assert by_metric["recall_at_1pct_fpr"]["passed"] is False
    assert by_metric["recall_at_1pct_fpr"]["reason"] == "missing"
    assert by_metric["p95_latency_ms"]["max"] == 40 and by_metric["p95_latency_ms"]["passed"] is False


def test_json_format_passing(fraud: Project, cli, metrics: Path) -> None:
    result = gate(cli, fraud, write(metrics, GOOD), "--format", "json")
    assert result.code == 0
    payload = json.loads(result.out)
    assert payload["passed"] is True and all(m["passed"] for m in payload["metrics"])


def test_json_format_is_strict_json_for_nan(fraud: Project, cli, metrics: Path) -> None:
    metrics.write_text('{"auc": NaN, "recall_at_1pct_fpr": 0.7, "p95_latency_ms": 30}')
    result = gate(cli, fraud, metrics, "--format", "json")

    def reject(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    payload = json.loads(result.out, parse_constant=reject)
    assert payload["passed"] is False


def test_error_in_json_format_is_json(fraud: Project, cli, metrics: Path) -> None:
    result = gate(cli, fraud, metrics, "--format", "json")
    assert result.code == 1
    assert "cannot read metrics file" in json.loads(result.out)["error"]


def test_spec_without_model_validation_fails(fraud: Project, cli, metrics: Path) -> None:
    fraud.edit_spec("""    modelValidation:
      command: python -m fraud_detector.evaluate --holdout data/holdout.parquet --out metrics.json
      metricsFile: metrics.json
      thresholds:
        auc: {min: 0.92}
        recall_at_1pct_fpr: {min: 0.6}
        p95_latency_ms: {max: 40}
""", "")
    result = gate(cli, fraud, write(metrics, GOOD))
    assert result.code == 1
    assert "no ci.tests.modelValidation" in result.err


def test_churn_thresholds(churn: Project, cli, metrics: Path) -> None:
    assert gate(cli, churn, write(metrics, {"f1": 0.8, "brier": 0.1})).code == 0
    result = gate(cli, churn, write(metrics, {"f1": 0.8, "brier": 0.2}))
    assert result.code == 1 and "FAIL brier: 0.2 > max 0.18" in result.out
