"""PromQL for the spec's SLOs: one source for the alert rules, the canary analysis and the dashboard.

Every SLO becomes one PromQL expression giving one value for the model in one environment (the
worst replica for per-replica signals). The breach expression compares it with the threshold in
the SLO's direction (`operator: above` breaches with `>`, `below` with `<`); the canary analysis
succeeds on the opposite, non-strict comparison. `<sel>` below is the model's label matchers,
`{namespace="<env namespace>",<model label>="<model name>"}`, where the model label is the
runtime's pod label copied onto every series by the ServiceMonitor's podTargetLabels (for KServe:
`serving_kserve_io_inferenceservice`); `<w>` is the SLO's `window`.

| Group    | Signal            | Unit (threshold)     | Metrics the model server must export                           |
|----------|-------------------|----------------------|----------------------------------------------------------------|
| Software | `latency`         | ms (the percentile)  | `http_request_duration_seconds` histogram                      |
| Software | `errorRate`       | share of 5xx, 0-1    | `http_requests_total` counter, label `code`                    |
| Software | `throughput`      | requests/s           | `http_requests_total` counter                                  |
| Software | `memory`          | MiB per replica      | none (cAdvisor `container_memory_working_set_bytes`)           |
| Software | `cpu`             | cores per replica    | none (cAdvisor `container_cpu_usage_seconds_total`)            |
| Software | `serverLoad`      | in flight per pod    | `model_inflight_requests` gauge                                |
| Input    | `inputLength`     | mean input length    | `model_input_length` histogram or summary                      |
| Input    | `inputVolume`     | rows/s               | `model_input_rows_total` counter                               |
| Input    | `missingValues`   | share missing, 0-1   | `model_input_missing_values_total`, `model_input_values_total` |
| Input    | `imageBrightness` | mean, 0-255          | `model_input_image_brightness` histogram or summary            |
| Output   | `nullPredictions` | share null, 0-1      | `model_predictions_null_total`, `model_predictions_total`      |
| Output   | `scoreShift`      | absolute mean change | `model_prediction_score` histogram or summary                  |
| Custom   | `custom`          | the query's          | whatever `query` reads                                         |

Histograms and summaries are read through their `_sum` and `_count` series. The PromQL
(`rate(m)` stands for `sum(rate(m<sel>[<w>]))`):

- latency: `histogram_quantile(<percentile/100>, sum by (le) (rate(http_request_duration_seconds_bucket<sel>[<w>])))
  * 1000`
- errorRate: `rate(http_requests_total{<sel matchers>,code=~"5.."}) / rate(http_requests_total)`
- throughput: `rate(http_requests_total)`
- memory: `max(sum by (pod) (container_memory_working_set_bytes<pods>)) / 1048576`
- cpu: `max(sum by (pod) (rate(container_cpu_usage_seconds_total<pods>[<w>])))`
- serverLoad: `max(sum by (pod) (model_inflight_requests<sel>))`
- inputLength: `rate(model_input_length_sum) / rate(model_input_length_count)`
- inputVolume: `rate(model_input_rows_total)`
- missingValues: `rate(model_input_missing_values_total) / rate(model_input_values_total)`
- imageBrightness: `rate(model_input_image_brightness_sum) / rate(model_input_image_brightness_count)`
- nullPredictions: `rate(model_predictions_null_total) / rate(model_predictions_total)`
- scoreShift: `abs(<mean> - <mean offset 1d>)`, mean = `rate(model_prediction_score_sum) /
  rate(model_prediction_score_count)`, the day-ago mean with `[<w>] offset 1d`
- custom: `(<query>)`, every `$selector` replaced by the matchers of `<sel>` without braces

`<pods>` is `{namespace="<ns>",pod=~"<model>-.*",container!=""}`: cAdvisor series lack the model
label, so `memory` and `cpu` find the model's pods by name (every runtime names them `<model>-...`)
in the environment's namespace; `container!=""` drops the pod-level cgroup series that would count
every container twice. Per-replica signals take the worst replica: `max`, or `min` for
`operator: below`.

No data and NaN (a ratio over a window without traffic) fail a canary measurement, like
`mlopsgen analyze` without `--no-data pass`: the Argo Rollouts condition is
`len(result) > 0 && result[0] <= <threshold>` (`>=` for `below`), the form the Argo Rollouts analysis
docs give for treating an empty Prometheus result as a failure; NaN fails because every comparison
with NaN is false. A custom query should return one series (the analysis reads `result[0]`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from generator.model import SLO, Environment, Spec
from generator.runtimes import runtime_for

REQUEST_DURATION = "http_request_duration_seconds_bucket"
REQUESTS = "http_requests_total"
MEMORY = "container_memory_working_set_bytes"
CPU = "container_cpu_usage_seconds_total"
INFLIGHT = "model_inflight_requests"
INPUT_LENGTH = "model_input_length"
INPUT_ROWS = "model_input_rows_total"
INPUT_MISSING = "model_input_missing_values_total"
INPUT_VALUES = "model_input_values_total"
IMAGE_BRIGHTNESS = "model_input_image_brightness"
PREDICTIONS_NULL = "model_predictions_null_total"
PREDICTIONS = "model_predictions_total"
PREDICTION_SCORE = "model_prediction_score"
SELECTOR_PLACEHOLDER = "$selector"
MIB = 1048576


@dataclass(frozen=True)
class Signal:
    group: str  # Software | Input | Output | Custom: the dashboard row
    unit: str  # appended to numbers in summaries ("" for ratios and unitless values)
    description: str  # what the value is, for dashboards and docs


SIGNALS: dict[str, Signal] = {
    "latency": Signal("Software", " ms", "request latency percentile (ms)"),
    "errorRate": Signal("Software", "", "share of 5xx responses (0-1)"),
    "throughput": Signal("Software", " requests/s", "requests per second"),
    "memory": Signal("Software", " MiB", "working-set memory of the busiest replica (MiB)"),
    "cpu": Signal("Software", " cores", "CPU of the busiest replica (cores)"),
    "serverLoad": Signal("Software", " requests in flight", "requests in flight on the busiest replica"),
    "inputLength": Signal("Input", "", "mean input length"),
    "inputVolume": Signal("Input", " rows/s", "input rows per second"),
    "missingValues": Signal("Input", "", "share of missing input values (0-1)"),
    "imageBrightness": Signal("Input", "", "mean input image brightness (0-255)"),
    "nullPredictions": Signal("Output", "", "share of null or empty predictions (0-1)"),
    "scoreShift": Signal("Output", "", "absolute change of the mean score against a day ago"),
    "custom": Signal("Custom", "", "custom query"),
}
GROUPS = ("Software", "Input", "Output", "Custom")


@dataclass(frozen=True)
class SLOQuery:
    slo: SLO
    value: str  # PromQL giving the measured value, in the signal's unit (see the module docstring)
    breach: str  # PromQL that returns a series when the SLO is breached
    summary: str  # one line for the alert
    success_condition: str = ""  # Argo Rollouts successCondition for one measurement of `value`

    @property
    def alert_name(self) -> str:
        return "".join(part.capitalize() for part in (self.slo.name.split("-"))) + "SLOBreach"

    @property
    def signal(self) -> Signal:
        return SIGNALS[self.slo.signal]

    @property
    def breach_operator(self) -> str:
        return "<" if self.slo.operator == "below" else ">"


def model_label(spec: Spec) -> str:
    """The Prometheus label that names the model: the runtime's pod label, sanitised like
    Prometheus does for podTargetLabels (every character outside [a-zA-Z0-9_] becomes _)."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", runtime_for(spec).scrape(spec).pod_label)


def _matchers(spec: Spec, env: Environment, extra: str = "") -> str:
    # names are DNS-1123 labels (checked by the schema), so they need no escaping in PromQL
    return f'namespace="{env.namespace}",{model_label(spec)}="{spec.name}"{extra}'


def _selector(spec: Spec, env: Environment, extra: str = "") -> str:
    return "{" + _matchers(spec, env, extra) + "}"


def _pods(spec: Spec, env: Environment) -> str:
    """cAdvisor series of the model's containers: they carry namespace and pod, not the model label."""
    return f'{{namespace="{env.namespace}",pod=~"{spec.name}-.*",container!=""}}'


def _rate(metric: str, selector: str, window: str, offset: str = "") -> str:
    return f"sum(rate({metric}{selector}[{window}]{offset}))"


def _ratio(numerator: str, denominator: str, selector: str, window: str, offset: str = "") -> str:
    return f"{_rate(numerator, selector, window, offset)} / {_rate(denominator, selector, window, offset)}"


def number(value: float) -> str:
    """The threshold exactly, as PromQL and Argo's expr read it: 40, 0.01, 1234567 (not 1.23457e+06)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def value_query(spec: Spec, env: Environment, slo: SLO) -> str:
    """PromQL for the SLO's measured value (one series)."""
    sel, window = _selector(spec, env), slo.window
    worst = "min" if slo.operator == "below" else "max"  # the worst replica
    signal = slo.signal
    if signal == "latency":
        quantile = (slo.percentile or 0) / 100
        return (f"histogram_quantile({quantile:g}, sum by (le) (rate({REQUEST_DURATION}"
                f"{sel}[{window}]))) * 1000")
    if signal == "errorRate":
        server_errors = _selector(spec, env, ',code=~"5.."')
        return f"{_rate(REQUESTS, server_errors, window)} / {_rate(REQUESTS, sel, window)}"
    if signal == "throughput":
        return _rate(REQUESTS, sel, window)
    if signal == "memory":
        return f"{worst}(sum by (pod) ({MEMORY}{_pods(spec, env)})) / {MIB}"
    if signal == "cpu":
        return f"{worst}(sum by (pod) (rate({CPU}{_pods(spec, env)}[{window}])))"
    if signal == "serverLoad":
        return f"{worst}(sum by (pod) ({INFLIGHT}{sel}))"
    if signal == "inputLength":
        return _ratio(f"{INPUT_LENGTH}_sum", f"{INPUT_LENGTH}_count", sel, window)
    if signal == "inputVolume":
        return _rate(INPUT_ROWS, sel, window)
    if signal == "missingValues":
        return _ratio(INPUT_MISSING, INPUT_VALUES, sel, window)
    if signal == "imageBrightness":
        return _ratio(f"{IMAGE_BRIGHTNESS}_sum", f"{IMAGE_BRIGHTNESS}_count", sel, window)
    if signal == "nullPredictions":
        return _ratio(PREDICTIONS_NULL, PREDICTIONS, sel, window)
    if signal == "scoreShift":
        now = _ratio(f"{PREDICTION_SCORE}_sum", f"{PREDICTION_SCORE}_count", sel, window)
        day_ago = _ratio(f"{PREDICTION_SCORE}_sum", f"{PREDICTION_SCORE}_count", sel, window, " offset 1d")
        return f"abs({now} - {day_ago})"
    if signal == "custom":
        return "(" + slo.query.replace(SELECTOR_PLACEHOLDER, _matchers(spec, env)) + ")"
    raise ValueError(f"unknown SLO signal {signal!r}")


def success_condition(slo: SLO) -> str:
    """Argo Rollouts successCondition: a value exists and is on the good side of the threshold."""
    comparison = ">=" if slo.operator == "below" else "<="
    return f"len(result) > 0 && result[0] {comparison} {number(slo.threshold)}"


def summary(spec: Spec, env: Environment, slo: SLO) -> str:
    bound = "below threshold" if slo.operator == "below" else "threshold"
    return (f"{spec.name} in {env.name}: SLO {slo.name} breached "
            f"({bound} {number(slo.threshold)}{SIGNALS[slo.signal].unit})")


def slo_queries(spec: Spec, env: Environment) -> list[SLOQuery]:
    out = []
    for slo in spec.monitoring.slos:
        value = value_query(spec, env, slo)
        comparison = "<" if slo.operator == "below" else ">"
        out.append(SLOQuery(slo, value, f"{value} {comparison} {number(slo.threshold)}",
                            summary(spec, env, slo), success_condition(slo)))
    return out
