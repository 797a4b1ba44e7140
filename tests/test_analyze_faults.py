"""`mlopsgen analyze` on the faults a real Prometheus does not produce at will: an error body with
HTTP 200 or 400, a server that is down, hangs up or answers something else than JSON, and bad
arguments. The verdicts themselves are tested on a real Prometheus (tests/test_analyze.py); this
stand-in is a local HTTP server that answers every query with what the test sets."""

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
    answer: Callable[[str], Answer] = lambda _q: (200, vector("0"))
    queries: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)

    def respond(self, query: str) -> Answer:
        return self.answer(query)


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
