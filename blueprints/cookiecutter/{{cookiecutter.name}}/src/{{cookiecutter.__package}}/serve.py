"""The model server: python -m {{ cookiecutter.__package }}.serve  (standard library only)

GET  /healthz   200 once the model is loaded (serving.healthPath in mlops.yaml)
GET  /metrics   Prometheus text exposition (see metrics.py), scraped by the ServiceMonitor
                through the model's metrics Service, on this same port

Probes and scrapes are not requests of the model: they are left out of every request metric
(count, duration, in flight), so they neither dilute the error rate nor inflate throughput.
POST /predict   {"instances": [[amount, age_days, items, score], ...]} -> {"predictions": [...]}
                (also answered at /v1/models/<name>:predict and /v2/models/<name>/infer)

PORT (default 8080) and HOST (default 0.0.0.0) come from the environment; the Dockerfile sets PORT.
"""

from __future__ import annotations

import json
import math
import os
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .metrics import CONTENT_TYPE, Registry
from .model import LogisticRegression
from .predict import load_model, to_row

MAX_BODY = 1 << 20
PREDICT_PATHS = ("/predict",)
UNMEASURED_PATHS = ("/healthz", "/metrics")  # the kubelet's probe and Prometheus' scrape


class ModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], model: LogisticRegression | None = None) -> None:
        self.model = model or load_model()
        self.metrics = Registry()
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    server: ModelServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("ACCESS_LOG"):
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self._status = status

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode())

    def _measured(self, answer: Any) -> None:
        if self.path in UNMEASURED_PATHS:
            answer()
            return
        metrics = self.server.metrics
        metrics.inflight.inc()
        started = time.perf_counter()
        self._status = 500
        try:
            answer()
        except Exception as exc:  # noqa: BLE001 - any failure is a 500, counted below
            self._json(500, {"error": f"internal error: {type(exc).__name__}"})
        finally:
            metrics.inflight.dec()
            metrics.request_duration.observe(time.perf_counter() - started)
            metrics.requests.inc(code=str(self._status))

    def do_GET(self) -> None:
        if self.path == "/metrics":
            self._measured(lambda: self._send(200, self.server.metrics.render().encode(), CONTENT_TYPE))
        elif self.path == "/healthz":
            self._measured(lambda: self._json(200, {"status": "ok"}))
        else:
            self._measured(lambda: self._json(404, {"error": f"no such path: {self.path}"}))

    def do_POST(self) -> None:
        path = self.path
        if path in PREDICT_PATHS or (path.startswith("/v1/models/") and path.endswith(":predict")) \
                or (path.startswith("/v2/models/") and path.endswith("/infer")):
            self._measured(self._predict)
        else:
            self._measured(lambda: self._json(404, {"error": f"no such path: {path}"}))

    def _predict(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "request body too large"})
            return
        try:
            payload = json.loads(self.rfile.read(length) or b"null")
            instances = payload["instances"] if isinstance(payload, dict) else None
            if not isinstance(instances, list) or not instances:
                raise ValueError('expected {"instances": [row, ...]} with at least one row')
            rows = [to_row(i) for i in instances]
        except (ValueError, KeyError, TypeError) as exc:
            self._json(400, {"error": str(exc)})
            return
        metrics = self.server.metrics
        metrics.input_length.observe(len(rows))
        metrics.input_rows.inc(len(rows))
        for row in rows:
            metrics.input_values.inc(len(row))
            metrics.input_missing.inc(sum(v is None for v in row))
        predictions: list[dict[str, Any]] = []
        for row in rows:
            score = self.server.model.predict_proba(row)
            metrics.predictions.inc()
            if score is None or math.isnan(score):
                metrics.predictions_null.inc()
                predictions.append({"score": None, "label": None})
                continue
            metrics.prediction_score.observe(score)
            predictions.append({"score": round(score, 6), "label": int(score >= 0.5)})
        self._json(200, {"predictions": predictions})


def main() -> int:
    host = os.environ.get("HOST", "0.0.0.0")
    port = int(os.environ.get("PORT", "8080"))
    server = ModelServer((host, port))
    print(f"serving {__package__} on http://{host}:{port} (/predict, /healthz, /metrics)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
