"""The metric an HPA scales a model on (the runtimes whose objects carry an HPA: Seldon's hpaSpec,
BentoML's HorizontalPodAutoscaler). cpu and memory are resource utilisation; concurrency and rps are
per-pod custom metrics that the Prometheus adapter serves from the model's own series."""

from __future__ import annotations

from generator.frozen import frozen
from generator.model import Autoscaling

RESOURCE_METRICS = frozenset({"cpu", "memory"})
POD_METRICS = {"concurrency": "model_inflight_requests", "rps": "http_requests_per_second"}


@frozen
class HpaMetric:
    resource: bool  # a Resource metric (utilisation, percent), else a Pods metric (average value)
    name: str
    target: int


def hpa_metric(scaling: Autoscaling) -> HpaMetric:
    if scaling.metric in RESOURCE_METRICS:
        return HpaMetric(True, scaling.metric, scaling.target)
    return HpaMetric(False, POD_METRICS[scaling.metric], scaling.target)
