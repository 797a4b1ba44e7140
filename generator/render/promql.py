"""PromQL for the spec's SLOs: one source for the alert rules, the canary analysis, the dashboard and
`mlopsgen analyze`.

Every SLO becomes one PromQL expression giving one value for the model in one environment (the
worst replica for per-replica signals), optionally for one version of it. `<sel>` below is the
model's label matchers, `{namespace="<env namespace>",<model label>="<model name>"<version>}`,
where the model label is the runtime's pod label that the ServiceMonitor copies onto every series
(podTargetLabels; generator/runtimes/base.py Scrape) and `<version>` is empty for the alerts and
the whole-model dashboard, and selects the new version's pods in an analysis
(generator/runtimes/versions.py: `mlopsgen.io/release` for `analyze --release`, the Rollout's
`rollouts-pod-template-hash` argument in an AnalysisTemplate). `<w>` is the SLO's `window`.

The metric names come from the spec's exporter (generator/runtimes/exporters.py, spec
`monitoring.exporter`): below, the scaffolded server's (`mlopsgen`); a stock bento's are
`bentoml_service_request_total{http_response_code}`, `bentoml_service_request_duration_seconds`
and `bentoml_service_request_in_progress`, with BentoML's probe and metrics endpoints left out.

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
- errorRate: `(rate(http_requests_total{<sel matchers>,code=~"5.."}) or vector(0)) / rate(http_requests_total)`:
  no 5xx series is an error rate of 0, not "no data"; no requests at all stays no data
- throughput: `rate(http_requests_total)`
- memory: `max(sum by (pod) (container_memory_working_set_bytes<pods>)) / 1048576`
- cpu: `max(sum by (pod) (rate(container_cpu_usage_seconds_total<pods>[<w>])))`
- serverLoad: `max(sum by (pod) (model_inflight_requests<sel>))`
- inputLength: `rate(model_input_length_sum) / rate(model_input_length_count)`
- inputVolume: `rate(model_input_rows_total)`
- missingValues, nullPredictions: shares like errorRate (`(rate(part) or vector(0)) / rate(whole)`)
- imageBrightness: `rate(model_input_image_brightness_sum) / rate(model_input_image_brightness_count)`
- scoreShift: `abs(<mean> - <baseline mean>)`, mean = `rate(model_prediction_score_sum) /
  rate(model_prediction_score_count)`; the baseline is the stable version (every other version of
  the model: `<version label>!="<new>"`) when a version is measured, else the same series a day ago
  (`[<w>] offset 1d`)
- custom: `(<query>)`, every `$selector` replaced by the matchers of `<sel>` without braces (the
  `)` on a line of its own when the query may end in a `# comment`)

`<pods>` is `{namespace="<ns>",pod=~"<model>-.*",container!=""}`: cAdvisor series lack the model
label, so `memory` and `cpu` find the model's pods by name (every runtime names them `<model>-...`)
in the environment's namespace; `container!=""` drops the pod-level cgroup series that would count
every container twice. For one version they keep the pods that version's scrape target names
(`and on (pod) up<sel>`). Per-replica signals take the worst replica: `max`, or `min` for
`operator: below`.

**Breach** (alert rules): `<value> > <threshold>` for `operator: above`; `<value> < <threshold> or
absent(<value>)` for `below`, so a model that stops answering (its series gone) fires the alert
instead of going silent.

**No data** (an empty result, or NaN: a ratio over a window without traffic) is judged by the SLO's
`noData` policy in the canary analysis and in `mlopsgen analyze`: `fail` (the default), `pass`
(scoreShift's default: a new model has no day of history and a canary no stable baseline yet), or
`inconclusive` (Argo Rollouts: neither successCondition nor failureCondition holds, the
measurement is Inconclusive and the rollout pauses; `analyze`: exit 5). Argo's expr has `isNaN`.
A custom query should return one series (the analysis reads `result[0]`).

**Against the stable version** (`maxRegression`, in an analysis of one version only): a second
check `<name>-vs-stable` of `(<new value>) - (<stable value>)` (`(<stable>) - (<new>)` for
`operator: below`), the stable value being the same query on every other version of the model;
it breaches above `maxRegression` and passes on no data (no stable version to compare with). Both
sides aggregate to one series without labels, so `-` matches them one to one.
"""

from __future__ import annotations

from dataclasses import replace

from generator.frozen import frozen
from generator.model import SLO, Environment, Spec
from generator.runtimes import EXPORTERS, runtime_for
from generator.runtimes.exporters import Exporter
from generator.runtimes.versions import (
    CANARY_HASH_ARG,
    RELEASE_LABEL,
    ROLLOUT_HASH_LABEL,
    prometheus_label,
    release_label,
)

MEMORY = "container_memory_working_set_bytes"
CPU = "container_cpu_usage_seconds_total"
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


@frozen
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
    "scoreShift": Signal("Output", "", "absolute change of the mean score against the baseline"),
    "custom": Signal("Custom", "", "custom query"),
}
GROUPS = ("Software", "Input", "Output", "Custom")


@frozen
class Version:
    """One version of the model: the pods whose `label` (a Prometheus label name) is `value`."""

    label: str
    value: str

    def matcher(self, op: str = "=") -> str:
        return f',{self.label}{op}"{self.value}"'


def release_version(tag: str) -> Version:
    """The pods of the release with this image tag (or image reference), on every runtime."""
    return Version(prometheus_label(RELEASE_LABEL), release_label(tag))


def rollout_version() -> Version:
    """In an AnalysisTemplate: the Rollout's new ReplicaSet, from the analysis argument."""
    return Version(prometheus_label(ROLLOUT_HASH_LABEL), "{{args." + CANARY_HASH_ARG + "}}")


@frozen
class SLOQuery:
    slo: SLO
    value: str  # PromQL giving the measured value, in the signal's unit (see the module docstring)
    breach: str  # PromQL that returns a series when the SLO is breached
    summary: str  # one line for the alert
    success_condition: str = ""  # Argo Rollouts successCondition for one measurement of `value`
    failure_condition: str = ""  # Argo Rollouts failureCondition ("" : whatever is not a success fails)

    @property
    def alert_name(self) -> str:
        return "".join(part.capitalize() for part in (self.slo.name.split("-"))) + "SLOBreach"

    @property
    def signal(self) -> Signal:
        return SIGNALS[self.slo.signal]

    @property
    def breach_operator(self) -> str:
        return "<" if self.slo.operator == "below" else ">"


def exporter(spec: Spec) -> Exporter:
    return EXPORTERS[spec.monitoring.exporter]


def model_label(spec: Spec) -> str:
    """The Prometheus label that names the model: the runtime's pod label as podTargetLabels store it."""
    return prometheus_label(runtime_for(spec).scrape(spec).model_label)


@frozen
class _Scope:
    """Where one query looks: the model in an environment, maybe one version of it."""

    spec: Spec
    env: Environment
    version: str = ""  # matchers of the version (",label=\"value\""), "" for every version

    def matchers(self, extra: str = "") -> str:
        # names are DNS-1123 labels (checked by the schema), so they need no escaping in PromQL
        return f'namespace="{self.env.namespace}",{model_label(self.spec)}="{self.spec.name}"{self.version}{extra}'

    def selector(self, extra: str = "") -> str:
        return "{" + self.matchers(extra) + "}"

    def pods(self, expr: str) -> str:
        """`expr` (by pod) over cAdvisor series, which carry namespace and pod but not the model label."""
        series = f'{{namespace="{self.env.namespace}",pod=~"{self.spec.name}-.*",container!=""}}'
        scoped = expr.replace("<pods>", series)
        return f"({scoped} and on (pod) up{self.selector()})" if self.version else scoped


def _rate(metric: str, selector: str, window: str, offset: str = "") -> str:
    return f"sum(rate({metric}{selector}[{window}]{offset}))"


def _ratio(numerator: str, denominator: str, selector: str, window: str, offset: str = "") -> str:
    return f"{_rate(numerator, selector, window, offset)} / {_rate(denominator, selector, window, offset)}"


def _share(part: str, whole: str) -> str:
    """part/whole where a missing part is 0 (no 5xx yet), and a missing whole stays no data."""
    return f"({part} or vector(0)) / {whole}"


def number(value: float) -> str:
    """The threshold exactly, as PromQL and Argo's expr read it: 40, 0.01, 1234567 (not 1.23457e+06)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _value(scope: _Scope, slo: SLO, baseline: _Scope | None) -> str:
    sel, window, out = scope.selector(), slo.window, exporter(scope.spec)
    requests = scope.selector(out.request_matchers)
    worst = "min" if slo.operator == "below" else "max"  # the worst replica
    signal = slo.signal
    if signal == "latency":
        quantile = (slo.percentile or 0) / 100
        return (f"histogram_quantile({quantile:g}, sum by (le) (rate({out.duration}_bucket"
                f"{requests}[{window}]))) * 1000")
    if signal == "errorRate":
        server_errors = scope.selector(f'{out.request_matchers},{out.code_label}=~"5.."')
        return _share(_rate(out.requests, server_errors, window), _rate(out.requests, requests, window))
    if signal == "throughput":
        return _rate(out.requests, requests, window)
    if signal == "memory":
        return f"{worst}({scope.pods(f'sum by (pod) ({MEMORY}<pods>)')}) / {MIB}"
    if signal == "cpu":
        return f"{worst}({scope.pods(f'sum by (pod) (rate({CPU}<pods>[{window}]))')})"
    if signal == "serverLoad":
        return f"{worst}(sum by (pod) ({out.inflight}{requests}))"
    if signal == "inputLength":
        return _ratio(f"{INPUT_LENGTH}_sum", f"{INPUT_LENGTH}_count", sel, window)
    if signal == "inputVolume":
        return _rate(INPUT_ROWS, sel, window)
    if signal == "missingValues":
        return _share(_rate(INPUT_MISSING, sel, window), _rate(INPUT_VALUES, sel, window))
    if signal == "imageBrightness":
        return _ratio(f"{IMAGE_BRIGHTNESS}_sum", f"{IMAGE_BRIGHTNESS}_count", sel, window)
    if signal == "nullPredictions":
        return _share(_rate(PREDICTIONS_NULL, sel, window), _rate(PREDICTIONS, sel, window))
    if signal == "scoreShift":
        now = _ratio(f"{PREDICTION_SCORE}_sum", f"{PREDICTION_SCORE}_count", sel, window)
        if baseline is not None:
            then = _ratio(f"{PREDICTION_SCORE}_sum", f"{PREDICTION_SCORE}_count", baseline.selector(), window)
        else:
            then = _ratio(f"{PREDICTION_SCORE}_sum", f"{PREDICTION_SCORE}_count", sel, window, " offset 1d")
        return f"abs({now} - {then})"
    if signal == "custom":
        query = slo.query.replace(SELECTOR_PLACEHOLDER, scope.matchers())
        return f"({query}\n)" if "#" in query else f"({query})"  # a `# comment` must not swallow the `)`
    raise ValueError(f"unknown SLO signal {signal!r}")


def value_query(spec: Spec, env: Environment, slo: SLO, version: Version | None = None) -> str:
    """PromQL for the SLO's measured value (one series), for one version of the model or all of them."""
    if version is None:
        return _value(_Scope(spec, env), slo, None)
    return _value(_Scope(spec, env, version.matcher()), slo, _Scope(spec, env, version.matcher("!=")))


def breach_query(value: str, slo: SLO) -> str:
    """PromQL that returns a series while the SLO is breached; a below-threshold SLO also when the
    value's series are gone (the model stopped answering)."""
    if slo.operator == "below":
        return f"{value} < {number(slo.threshold)} or absent({value})"
    return f"{value} > {number(slo.threshold)}"


def _conditions(slo: SLO) -> tuple[str, str]:
    """Argo Rollouts successCondition and failureCondition for one measurement, per `noData`."""
    good = ">=" if slo.operator == "below" else "<="
    bad = "<" if slo.operator == "below" else ">"
    threshold = number(slo.threshold)
    measured = "len(result) > 0 && !isNaN(result[0])"
    if slo.no_data == "pass":
        return f"len(result) == 0 || isNaN(result[0]) || result[0] {good} {threshold}", ""
    if slo.no_data == "inconclusive":  # neither holds on no data: the measurement is Inconclusive
        return f"{measured} && result[0] {good} {threshold}", f"{measured} && result[0] {bad} {threshold}"
    return f"{measured} && result[0] {good} {threshold}", ""


def summary(spec: Spec, env: Environment, slo: SLO) -> str:
    bound = "below threshold" if slo.operator == "below" else "threshold"
    return (f"{spec.name} in {env.name}: SLO {slo.name} breached "
            f"({bound} {number(slo.threshold)}{SIGNALS[slo.signal].unit})")


def slo_queries(spec: Spec, env: Environment, version: Version | None = None) -> list[SLOQuery]:
    """Every SLO's queries: the alert's breach on the whole model, and the measured value of
    `version` (the whole model when None) for the analysis; for one version, each SLO with
    `maxRegression` is followed by its check against the stable version."""
    out = []
    for slo in spec.monitoring.slos:
        success, failure = _conditions(slo)
        whole = value_query(spec, env, slo)
        measured = whole if version is None else value_query(spec, env, slo, version)
        out.append(SLOQuery(slo, measured, breach_query(whole, slo), summary(spec, env, slo), success, failure))
        if version is not None and slo.max_regression is not None:
            out.append(_against_stable(spec, env, slo, version))
    return out


def _against_stable(spec: Spec, env: Environment, slo: SLO, version: Version) -> SLOQuery:
    margin = slo.max_regression or 0.0
    check = replace(slo, name=f"{slo.name}-vs-stable", threshold=margin, operator="above", no_data="pass")
    new = value_query(spec, env, slo, version)
    stable = _value(_Scope(spec, env, version.matcher("!=")), slo, None)
    value = f"({stable}) - ({new})" if slo.operator == "below" else f"({new}) - ({stable})"
    worse = "below" if slo.operator == "below" else "above"
    line = (f"{spec.name} in {env.name}: SLO {slo.name} of the new version more than "
            f"{number(margin)}{SIGNALS[slo.signal].unit} {worse} the stable version's")
    success, failure = _conditions(check)
    return SLOQuery(check, value, breach_query(value, check), line, success, failure)
