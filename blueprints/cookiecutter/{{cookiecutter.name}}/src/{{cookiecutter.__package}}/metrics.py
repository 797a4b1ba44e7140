"""Prometheus metrics in the text exposition format, written by hand (no client library).

These are the series the SLOs in mlops.yaml query (see `mlopsgen schema`, monitoring.slos):
software signals  http_request_duration_seconds (histogram), http_requests_total{code},
                  model_inflight_requests (gauge)
input signals     model_input_length (histogram), model_input_rows_total,
                  model_input_missing_values_total, model_input_values_total
output signals    model_predictions_total, model_predictions_null_total,
                  model_prediction_score (histogram)
"""

from __future__ import annotations

import math
import threading

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
LENGTH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)
SCORE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    body = ",".join(k + '="' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
                    for k, v in pairs)
    return "{" + body + "}"


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self._lock = threading.Lock()

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def expose(self) -> list[str]:
        raise NotImplementedError


class Counter(_Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str) -> None:
        super().__init__(name, help_text)
        self._values: dict[tuple[tuple[str, str], ...], float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(sorted(labels.items())), 0.0)

    def expose(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items()) or [((), 0.0)]
        return self.header() + [self.name + _labels(k) + " " + _number(v) for k, v in items]


class Gauge(_Metric):
    kind = "gauge"

    def __init__(self, name: str, help_text: str) -> None:
        super().__init__(name, help_text)
        self._value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        with self._lock:
            self._value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.inc(-amount)

    def value(self) -> float:
        return self._value

    def expose(self) -> list[str]:
        return self.header() + [self.name + " " + _number(self._value)]


class Histogram(_Metric):
    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...]) -> None:
        super().__init__(name, help_text)
        self.buckets = tuple(sorted(buckets)) + (math.inf,)
        self._counts = [0] * len(self.buckets)
        self._sum = 0.0
        self._count = 0

    def observe(self, value: float) -> None:
        with self._lock:
            self._sum += value
            self._count += 1
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    self._counts[i] += 1

    @property
    def count(self) -> int:
        return self._count

    def expose(self) -> list[str]:
        with self._lock:
            lines = self.header()
            for bound, count in zip(self.buckets, self._counts, strict=True):
                lines.append(self.name + "_bucket" + _labels((("le", _number(bound)),)) + " " + str(count))
            lines.append(f"{self.name}_sum {_number(self._sum)}")
            lines.append(f"{self.name}_count {self._count}")
        return lines


class Registry:
    """Every metric the model server exports; render() is the body of GET /metrics."""

    def __init__(self) -> None:
        self.request_duration = Histogram("http_request_duration_seconds",
                                          "Time spent answering HTTP requests.", LATENCY_BUCKETS)
        self.requests = Counter("http_requests_total", "HTTP requests answered, by status code.")
        self.inflight = Gauge("model_inflight_requests", "Requests being answered right now.")
        self.input_length = Histogram("model_input_length", "Instances per prediction request.", LENGTH_BUCKETS)
        self.input_rows = Counter("model_input_rows_total", "Rows (instances) received.")
        self.input_missing = Counter("model_input_missing_values_total", "Feature values received missing (null).")
        self.input_values = Counter("model_input_values_total", "Feature values received, missing or not.")
        self.predictions = Counter("model_predictions_total", "Predictions made.")
        self.predictions_null = Counter("model_predictions_null_total", "Predictions that came out null (NaN).")
        self.prediction_score = Histogram("model_prediction_score", "Predicted scores (probability of class 1).",
                                          SCORE_BUCKETS)

    def all(self) -> list[_Metric]:
        return [m for m in vars(self).values() if isinstance(m, _Metric)]

    def render(self) -> str:
        lines: list[str] = []
        for metric in self.all():
            lines.extend(metric.expose())
        return "\n".join(lines) + "\n"


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
