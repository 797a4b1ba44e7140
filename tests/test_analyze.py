"""`mlopsgen analyze` against a real local HTTP server speaking Prometheus' /api/v1/query API."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import Project

from generator.errors import EXIT_UNDETERMINED

Answer = tuple[int, object]  # (HTTP status, JSON body, or bytes sent as they are)


def vector(*values: str) -> dict[str, object]:
    return {"status": "success",
            "data": {"resultType": "vector",
                     "result": [{"metric": {}, "value": [1700000000, v]} for v in values]}}


@dataclass
class FakePrometheus:
    url: str
    latency_ms: str = "25"  # p95 latency; the fraud-detector SLO is 40 ms
    error_rate: str = "0.005"  # the SLO is 0.01
    score_shift: str = "0.02"  # the score-drift SLO is 0.1
    answer: Callable[[str], Answer] | None = None  # overrides the per-query values
    queries: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def respond(self, query: str) -> Answer:
        if self.answer is not None:
            return self.answer(query)
        if "histogram_quantile" in query:
            return 200, vector(self.latency_ms)
        if "http_requests_total" in query:
            return 200, vector(self.error_rate)
        if "model_prediction_score_sum" in query:
            return 200, vector(self.score_shift)
        return 400, {"status": "error", "errorType": "bad_data", "error": f"unexpected query {query}"}


@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            parsed = urllib.parse.urlsplit(self.path)
            fake.paths.append(parsed.path)
            query = urllib.parse.parse_qs(parsed.query).get("query", [""])[0]
            fake.queries.append(query)
            status, body = fake.respond(query) if parsed.path == "/api/v1/query" else (404, {"error": "no"})
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake = FakePrometheus(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def analyze(cli, project: Project, url: str, *extra: str, env: str = "production"):  # type: ignore[no-untyped-def]
    return cli("analyze", project.spec, "--env", env, "--prometheus-url", url, *extra)


def test_all_slos_within_passes(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    result = analyze(cli, fraud, prometheus.url)
    assert result.code == 0, result.text
    assert "PASS p95-latency: 25 (threshold 40)" in result.out
    assert "PASS error-rate: 0.005 (threshold 0.01)" in result.out
    assert "PASS score-drift: 0.02 (threshold 0.1)" in result.out
    assert "analysis of production: passed" in result.out
    assert prometheus.paths == ["/api/v1/query"] * 3


def test_queries_select_the_environment_and_model(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    assert analyze(cli, fraud, prometheus.url).code == 0
    assert len(prometheus.queries) == 3  # p95 latency, error rate, score drift
    for query in prometheus.queries:
        assert 'namespace="risk-prod"' in query
        assert 'serving_kserve_io_inferenceservice="fraud-detector"' in query
    latency = next(q for q in prometheus.queries if "histogram_quantile" in q)
    assert latency.startswith("histogram_quantile(0.95,") and "[5m]" in latency
    errors = next(q for q in prometheus.queries if "http_requests_total" in q)
    assert 'code=~"5.."' in errors


def test_staging_queries_use_the_staging_namespace(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    assert analyze(cli, fraud, prometheus.url, env="staging").code == 0
    assert all('namespace="risk-staging"' in q for q in prometheus.queries)


def test_latency_above_threshold_fails(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    prometheus.latency_ms = "55.5"
    result = analyze(cli, fraud, prometheus.url)
    assert result.code == 1
    assert "FAIL p95-latency: 55.5 (threshold 40)" in result.out
    assert "PASS error-rate" in result.out
    assert "FAILED" in result.out


def test_error_rate_above_threshold_fails(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    prometheus.error_rate = "0.2"
    result = analyze(cli, fraud, prometheus.url)
    assert result.code == 1
    assert "FAIL error-rate: 0.2 (threshold 0.01)" in result.out


def test_worst_series_decides(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    prometheus.answer = lambda q: (200, vector("10", "45") if "histogram_quantile" in q else vector("0"))
    result = analyze(cli, fraud, prometheus.url)
    assert result.code == 1 and "FAIL p95-latency: 45" in result.out


def test_empty_result_fails_by_default(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    prometheus.answer = lambda _q: (200, vector())
    result = analyze(cli, fraud, prometheus.url)
    assert result.code == 1
    assert "FAIL p95-latency: no data" in result.out


def test_empty_result_passes_with_no_data_pass(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    prometheus.answer = lambda _q: (200, vector())
    result = analyze(cli, fraud, prometheus.url, "--no-data", "pass")
    assert result.code == 0, result.text
    assert "PASS p95-latency: no data" in result.out


def test_prometheus_error_status_fails_with_its_message(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    prometheus.answer = lambda _q: (200, {"status": "error", "error": "bad_data"})
    result = analyze(cli, fraud, prometheus.url)
    assert result.code == EXIT_UNDETERMINED
    assert "Prometheus rejected the query: bad_data" in result.err
    assert "Traceback" not in result.text


def test_prometheus_error_with_http_400_shows_its_message(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    prometheus.answer = lambda _q: (400, {"status": "error", "errorType": "bad_data",
                                          "error": "parse error at char 7"})
    result = analyze(cli, fraud, prometheus.url)
    assert result.code == EXIT_UNDETERMINED
    assert "parse error at char 7" in result.err


def test_json_format(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    prometheus.latency_ms = "55"
    result = analyze(cli, fraud, prometheus.url, "--format", "json")
    assert result.code == 1
    payload = json.loads(result.out)
    assert payload["env"] == "production" and payload["passed"] is False
    by_slo = {s["slo"]: s for s in payload["slos"]}
    assert by_slo["p95-latency"]["passed"] is False and by_slo["error-rate"]["passed"] is True
    assert set(by_slo["p95-latency"]) == {"slo", "passed", "reason", "query"}
    assert by_slo["p95-latency"]["query"] in prometheus.queries


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_down_fails_without_traceback(fraud: Project, cli) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = analyze(cli, fraud, url)
    assert result.code == EXIT_UNDETERMINED
    assert f"Prometheus at {url} did not answer" in result.err
    assert "Traceback" not in result.text


@pytest.fixture
def hanging_up_server() -> Iterator[str]:
    """Accepts connections and closes them without answering, like a proxy dropping the request."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


def test_server_hanging_up_fails_without_traceback(fraud: Project, cli, hanging_up_server: str) -> None:
    result = analyze(cli, fraud, hanging_up_server)
    assert result.code == EXIT_UNDETERMINED
    assert "did not answer" in result.err
    assert "Traceback" not in result.text


def test_answer_that_is_not_json_fails(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    prometheus.answer = lambda _q: (200, b"<html>proxy login</html>")
    result = analyze(cli, fraud, prometheus.url)
    assert result.code == EXIT_UNDETERMINED
    assert "did not answer" in result.err
    assert "Traceback" not in result.text


def test_unknown_env_fails(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    result = analyze(cli, fraud, prometheus.url, env="qa")
    assert result.code == 1
    assert "no environment 'qa'" in result.err and "staging, production" in result.err
    assert prometheus.queries == []


def test_url_must_be_http(fraud: Project, cli) -> None:
    result = analyze(cli, fraud, "file:///etc/passwd")
    assert result.code == 1
    assert "is not an http(s) URL" in result.err


def test_a_nan_is_said_in_words(fraud: Project, cli, prometheus: FakePrometheus) -> None:
    prometheus.answer = lambda _q: (200, vector("NaN"))
    result = analyze(cli, fraud, prometheus.url)
    assert result.code == 1
    assert "no value (NaN: nothing to divide by in the window)" in result.out
