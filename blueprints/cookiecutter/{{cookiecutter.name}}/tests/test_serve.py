"""The server answers predictions and health checks, and exports every metric the SLOs in
mlops.yaml query."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from {{ cookiecutter.__package }}.serve import ModelServer

EXPORTED = ("http_request_duration_seconds_bucket", "http_requests_total", "model_inflight_requests",
            "model_input_length_count", "model_input_rows_total", "model_input_missing_values_total",
            "model_input_values_total", "model_predictions_total", "model_predictions_null_total",
            "model_prediction_score_count")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ModelServer(("127.0.0.1", 0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _call(url: str, payload: object | None = None) -> tuple[int, bytes]:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_health(base_url: str) -> None:
    assert _call(base_url + "/healthz")[0] == 200


def test_predict(base_url: str) -> None:
    status, body = _call(base_url + "/predict", {"instances": [[500.0, 10.0, 20.0, 0.9], [1.0, 3000.0, 0, None]]})
    assert status == 200
    predictions = json.loads(body)["predictions"]
    assert len(predictions) == 2 and all(0.0 <= p["score"] <= 1.0 for p in predictions)


def test_bad_request_is_a_400(base_url: str) -> None:
    assert _call(base_url + "/predict", {"rows": []})[0] == 400


def test_metrics_cover_every_monitored_signal(base_url: str) -> None:
    _call(base_url + "/predict", {"instances": [[1.0, 2.0, 3.0, None]]})
    status, body = _call(base_url + "/metrics")
    assert status == 200
    text = body.decode()
    samples = {line.split("{")[0].split(" ")[0]: line for line in text.splitlines() if not line.startswith("#")}
    for name in EXPORTED:
        assert name in samples, name
    assert 'http_requests_total{code="200"}' in text
    assert 'http_requests_total{code="400"}' in text
    missing = float(samples["model_input_missing_values_total"].split()[-1])
    assert missing >= 1
    assert "# TYPE http_request_duration_seconds histogram" in text
    assert "# TYPE model_inflight_requests gauge" in text


def _total_requests(base_url: str) -> float:
    text = _call(base_url + "/metrics")[1].decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("http_requests_total{"))


def test_probes_and_scrapes_are_not_counted_as_requests(base_url: str) -> None:
    before = _total_requests(base_url)
    for _ in range(3):
        assert _call(base_url + "/healthz")[0] == 200
    assert _total_requests(base_url) == before  # nor the scrapes that read it
    text = _call(base_url + "/metrics")[1].decode()
    assert "model_inflight_requests 0" in text  # the scrape itself is not in flight
