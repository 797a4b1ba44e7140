"""PromQL for the spec's SLOs: one source for the alert rules and the canary analysis."""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import SLO, Environment, Spec

REQUEST_DURATION = "http_request_duration_seconds_bucket"
REQUESTS = "http_requests_total"
# ServiceMonitor.podTargetLabels copies the pod label serving.kserve.io/inferenceservice onto
# every series, sanitised by Prometheus into this label name.
MODEL_LABEL = "serving_kserve_io_inferenceservice"


@dataclass(frozen=True)
class SLOQuery:
    slo: SLO
    value: str  # PromQL giving the measured value (milliseconds or ratio)
    breach: str  # PromQL that returns a series when the SLO is breached
    summary: str  # one line for the alert

    @property
    def alert_name(self) -> str:
        return "".join(part.capitalize() for part in (self.slo.name.split("-"))) + "SLOBreach"


def _selector(spec: Spec, env: Environment, extra: str = "") -> str:
    # names are DNS-1123 labels (checked by the schema), so they need no escaping in PromQL
    return f'{{namespace="{env.namespace}",{MODEL_LABEL}="{spec.name}"{extra}}}'


def slo_queries(spec: Spec, env: Environment) -> list[SLOQuery]:
    out = []
    for slo in spec.monitoring.slos:
        if slo.signal == "latency":
            quantile = (slo.percentile or 0) / 100
            value = (f"histogram_quantile({quantile:g}, sum by (le) (rate({REQUEST_DURATION}"
                     f"{_selector(spec, env)}[{slo.window}]))) * 1000")
        else:
            server_errors = _selector(spec, env, ',code=~"5.."')
            errors = f"sum(rate({REQUESTS}{server_errors}[{slo.window}]))"
            total = f"sum(rate({REQUESTS}{_selector(spec, env)}[{slo.window}]))"
            value = f"{errors} / {total}"
        unit = " ms" if slo.signal == "latency" else ""
        summary = f"{spec.name} in {env.name}: SLO {slo.name} breached (threshold {slo.threshold:g}{unit})"
        out.append(SLOQuery(slo, value, f"{value} > {slo.threshold:g}", summary))
    return out
