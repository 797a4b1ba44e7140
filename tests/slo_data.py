"""Synthetic series for an SLO, as promtool unit tests take them (`input_series`, one sample a
minute): data on which the SLO holds (healthy), on which it is breached, and, for an SLO that
breaches below its threshold, nothing at all (the model stopped answering).

The series carry the labels the ServiceMonitor gives the model's own metrics (namespace and the
runtime's model label, generator/render/promql.py model_label) or, for cAdvisor's memory and cpu,
the namespace, pod and container. Metric names come from the spec's exporter
(generator/runtimes/exporters.py) and promql.py, so the data follows the rendered queries rather
than restating them. A custom query's data cannot be derived: CUSTOM holds it per example and SLO.

Values: `level(slo, healthy)` is a value on the good side of the threshold (half of it for an
`above` SLO, twice it for `below`) or on the breach side. A counter of rate r per second grows by
60 r a minute; a gauge holds its value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from generator.model import SLO, Environment, Spec
from generator.render import promql
from generator.render.promql import exporter, model_label

DAY_MINUTES = 24 * 60
Series = dict[str, str]  # promtool input series: {"series": 'name{labels}', "values": "..."}


@dataclass(frozen=True)
class Place:
    """Where a model's series live: its environment's namespace and its labels."""

    spec: Spec
    env: Environment

    def labels(self, **extra: str) -> str:
        pairs = {"namespace": self.env.namespace, model_label(self.spec): self.spec.name,
                 "pod": f"{self.spec.name}-5d8f7c9b4-x2x7q", **extra}
        return "{" + ",".join(f'{k}="{v}"' for k, v in pairs.items()) + "}"

    def container(self) -> str:
        """cAdvisor's labels: no model label, the pod named after the model."""
        return (f'{{namespace="{self.env.namespace}",pod="{self.spec.name}-5d8f7c9b4-x2x7q",'
                f'container="model"}}')


def level(slo: SLO, healthy: bool) -> float:
    t = slo.threshold
    low, high = t / 2, max(2 * t, t + 1)
    good_is_low = slo.operator != "below"
    return (low if good_is_low else high) if healthy else (high if good_is_low else low)


def share(slo: SLO, healthy: bool) -> float:
    """A 0-1 share on the good (half the threshold) or the bad side (between threshold and 1)."""
    return slo.threshold / 2 if healthy else (slo.threshold + 1) / 2


def counter(minutes: int, *segments: tuple[float, int]) -> str:
    """Expanding notation of a counter growing at each (rate per second, minutes) in turn, then
    at the last rate to `minutes` in all: `0+60x10 660+120x5`."""
    parts, value, done = [], 0.0, 0
    for n, (rate, length) in enumerate(segments):
        length = minutes - done if n == len(segments) - 1 else length
        step = 60 * rate
        start = value if n == 0 else value + step
        parts.append(f"{_num(start)}+{_num(step)}x{length if n == 0 else length - 1}")
        value = start + step * (length if n == 0 else length - 1)
        done += length
    return " ".join(parts)


def gauge(minutes: int, value: float) -> str:
    return f"{_num(value)}+0x{minutes}"


def _num(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def requests(place: Place, minutes: int, rate: float, error_share: float) -> list[Series]:
    """The request counter of the model's exporter: `rate` a second, `error_share` of it 5xx
    (no 5xx series at all when 0)."""
    out = exporter(place.spec)
    ok = place.labels(**{out.code_label: "200", "endpoint": "/predict"})
    series = [{"series": f"{out.requests}{ok}", "values": counter(minutes, (rate * (1 - error_share), 0))}]
    if error_share:
        bad = place.labels(**{out.code_label: "500", "endpoint": "/predict"})
        series.append({"series": f"{out.requests}{bad}", "values": counter(minutes, (rate * error_share, 0))})
    return series


def latency(place: Place, slo: SLO, minutes: int, healthy: bool) -> list[Series]:
    """Every request in the bucket up to half the threshold (healthy) or between twice and four
    times it (breached), so every percentile falls on that side."""
    out, t = exporter(place.spec), slo.threshold / 1000  # ms to seconds
    fast = 1.0 if healthy else 0.0
    buckets = ((t / 2, fast), (2 * t, fast), (4 * t, 1.0), ("+Inf", 1.0))
    return [{"series": f"{out.duration}_bucket{place.labels(le=_le(le), endpoint='/predict')}",
             "values": counter(minutes, (10 * share_, 0))} for le, share_ in buckets]


def _le(le: float | str) -> str:
    return le if isinstance(le, str) else repr(float(le))


def ratio(place: Place, minutes: int, name: str, value: float) -> list[Series]:
    """<name>_sum / <name>_count (rates) == value."""
    return [{"series": f"{name}_sum{place.labels()}", "values": counter(minutes, (10 * value, 0))},
            {"series": f"{name}_count{place.labels()}", "values": counter(minutes, (10, 0))}]


def part_of(place: Place, minutes: int, part: str, whole: str, value: float) -> list[Series]:
    """A share: part/whole == value; no part series at all when value is 0."""
    series = [{"series": f"{whole}{place.labels()}", "values": counter(minutes, (10, 0))}]
    if value:
        series.append({"series": f"{part}{place.labels()}", "values": counter(minutes, (10 * value, 0))})
    return series


def score_shift(place: Place, slo: SLO, minutes: int, healthy: bool) -> list[Series]:
    """A day at a mean score of 0.5, then a mean that moved by half (healthy) or twice the threshold."""
    moved = 0.5 + (slo.threshold / 2 if healthy else max(2 * slo.threshold, slo.threshold + 0.1))
    name = promql.PREDICTION_SCORE
    return [{"series": f"{name}_sum{place.labels()}", "values": counter(minutes, (5, DAY_MINUTES), (10 * moved, 0))},
            {"series": f"{name}_count{place.labels()}", "values": counter(minutes, (10, 0))}]


Builder = Callable[[Place, SLO, int, bool], list[Series]]


def _level_builder(make: Callable[[Place, int, float], list[Series]]) -> Builder:
    return lambda place, slo, minutes, healthy: make(place, minutes, level(slo, healthy))


BUILDERS: dict[str, Builder] = {
    "latency": latency,
    "errorRate": lambda place, slo, minutes, healthy: requests(place, minutes, 5, 0 if healthy else share(slo, False)),
    "throughput": _level_builder(lambda place, minutes, v: requests(place, minutes, v, 0)),
    "memory": _level_builder(lambda place, minutes, v: [
        {"series": f"{promql.MEMORY}{place.container()}", "values": gauge(minutes, v * promql.MIB)}]),
    "cpu": _level_builder(lambda place, minutes, v: [
        {"series": f"{promql.CPU}{place.container()}", "values": counter(minutes, (v, 0))}]),
    "serverLoad": _level_builder(lambda place, minutes, v: [
        {"series": f"{exporter(place.spec).inflight}{place.labels(endpoint='/predict')}",
         "values": gauge(minutes, v)}]),
    "inputLength": _level_builder(lambda place, minutes, v: ratio(place, minutes, promql.INPUT_LENGTH, v)),
    "inputVolume": _level_builder(lambda place, minutes, v: [
        {"series": f"{promql.INPUT_ROWS}{place.labels()}", "values": counter(minutes, (v, 0))}]),
    "missingValues": lambda place, slo, minutes, healthy: part_of(
        place, minutes, promql.INPUT_MISSING, promql.INPUT_VALUES, 0 if healthy else share(slo, False)),
    "imageBrightness": _level_builder(lambda place, minutes, v: ratio(place, minutes, promql.IMAGE_BRIGHTNESS, v)),
    "nullPredictions": lambda place, slo, minutes, healthy: part_of(
        place, minutes, promql.PREDICTIONS_NULL, promql.PREDICTIONS, 0 if healthy else share(slo, False)),
    "scoreShift": score_shift,
}


def _positive_share(place: Place, slo: SLO, minutes: int, healthy: bool) -> list[Series]:
    positive = 0.5 if healthy else slo.threshold / 2  # a share: at most 1
    name = "model_prediction_label_total"
    return [{"series": f"{name}{place.labels(label='positive')}", "values": counter(minutes, (10 * positive, 0))},
            {"series": f"{name}{place.labels(label='negative')}", "values": counter(minutes, (10 * (1 - positive), 0))}]


# custom queries: (example, SLO name) -> builder
CUSTOM: dict[tuple[str, str], Builder] = {
    ("sentiment-bento", "input-length"): _level_builder(
        lambda place, minutes, v: ratio(place, minutes, "sentiment_input_length", v)),
    ("sentiment-bento", "positive-share"): _positive_share,
}


def breach_start_minutes(slo: SLO) -> int:
    """When a breach can begin: at once, or after the day of history a scoreShift compares with."""
    return DAY_MINUTES if slo.signal == "scoreShift" else 0


def builder(example: str, slo: SLO) -> Builder:
    if slo.signal == "custom":
        return CUSTOM[(example, slo.name)]
    return BUILDERS[slo.signal]
