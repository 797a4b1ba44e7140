"""What a model server exports: the metric names behind each SLO signal (spec `monitoring.exporter`).

`mlopsgen` (MLOPSGEN) is the scaffolded model server (blueprints/cookiecutter/.../metrics.py and
serve.py): it exports every signal's metrics and leaves its probe (/healthz) and the scrape
(/metrics) out of the request metrics and the in-flight gauge. A runtime whose stock server
exports other names declares its own Exporter (ServingRuntime.exporters); the registry in
generator/runtimes/__init__.py collects them (EXPORTERS). cAdvisor's signals (memory, cpu) and
custom queries work with any exporter.
"""

from __future__ import annotations

from generator.frozen import frozen

CADVISOR_SIGNALS = frozenset({"memory", "cpu", "custom"})
SOFTWARE_SIGNALS = frozenset({"latency", "errorRate", "throughput", "serverLoad"}) | CADVISOR_SIGNALS
ALL_SIGNALS = SOFTWARE_SIGNALS | frozenset({
    "inputLength", "inputVolume", "missingValues", "imageBrightness", "nullPredictions", "scoreShift"})


@frozen
class Exporter:
    name: str
    requests: str  # request counter
    code_label: str  # its HTTP status label
    duration: str  # request duration histogram (base name: _bucket, _sum, _count follow)
    inflight: str  # requests in flight gauge
    request_matchers: str  # extra matchers on the request metrics (",label!~..."): probes left out
    signals: frozenset[str]  # the SLO signals it can measure

    def measures(self, signal: str) -> bool:
        return signal in self.signals


# The scaffolded server's: the default of every runtime whose controller has no exporter of its own.
MLOPSGEN = Exporter("mlopsgen", "http_requests_total", "code", "http_request_duration_seconds",
                    "model_inflight_requests", "", ALL_SIGNALS)
