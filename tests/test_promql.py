"""generator/render/promql.py: one PromQL query per SLO signal, the breach direction, the Argo Rollouts
success condition, custom queries, and `mlopsgen analyze` comparing in the SLO's direction."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES, CliResult, Project

import generator.commands.analyze as analyze_module
from generator.commands.analyze import within, worst_value
from generator.model import Spec
from generator.render.promql import SIGNALS, SLOQuery, model_label, number, release_version, slo_queries
from generator.runtimes.versions import release_label
from generator.spec.intake import load_valid_spec
from generator.spec.normalise import normalise

CUSTOM_QUERY = "avg(model_feature_drift_score{$selector}) or on() max(model_drift_alarm{$selector, kind=\"x\"})"

# One SLO of every signal (and imageBrightness twice, once breaching below), all named.
ALL_SIGNAL_SLOS: list[dict[str, Any]] = [
    {"name": "p99-latency", "signal": "latency", "percentile": 99, "threshold": 250},
    {"name": "errors", "signal": "errorRate", "threshold": 0.02},
    {"name": "throughput", "signal": "throughput", "threshold": 5},
    {"name": "memory", "signal": "memory", "threshold": 1536},
    {"name": "cpu", "signal": "cpu", "threshold": 1.5, "window": "10m"},
    {"name": "server-load", "signal": "serverLoad", "threshold": 8},
    {"name": "input-length", "signal": "inputLength", "threshold": 512},
    {"name": "input-volume", "signal": "inputVolume", "threshold": 1},
    {"name": "missing-values", "signal": "missingValues", "threshold": 0.05},
    {"name": "bright-images", "signal": "imageBrightness", "threshold": 220},
    {"name": "dark-images", "signal": "imageBrightness", "threshold": 30, "operator": "below"},
    {"name": "null-predictions", "signal": "nullPredictions", "threshold": 0.01, "severity": "critical"},
    {"name": "score-shift", "signal": "scoreShift", "threshold": 0.1, "window": "1h"},
    {"name": "drift", "signal": "custom", "query": CUSTOM_QUERY, "threshold": 0.3},
]

# (metric names every query of the signal must read, the selector it must use: "model" or "pods")
EXPECTED: dict[str, tuple[tuple[str, ...], str]] = {
    "latency": (("http_request_duration_seconds_bucket",), "model"),
    "errorRate": (("http_requests_total",), "model"),
    "throughput": (("http_requests_total",), "model"),
    "memory": (("container_memory_working_set_bytes",), "pods"),
    "cpu": (("container_cpu_usage_seconds_total",), "pods"),
    "serverLoad": (("model_inflight_requests",), "model"),
    "inputLength": (("model_input_length_sum", "model_input_length_count"), "model"),
    "inputVolume": (("model_input_rows_total",), "model"),
    "missingValues": (("model_input_missing_values_total", "model_input_values_total"), "model"),
    "imageBrightness": (("model_input_image_brightness_sum", "model_input_image_brightness_count"), "model"),
    "nullPredictions": (("model_predictions_null_total", "model_predictions_total"), "model"),
    "scoreShift": (("model_prediction_score_sum", "model_prediction_score_count"), "model"),
    "custom": (("model_feature_drift_score", "model_drift_alarm"), "model"),
}

PROD_SELECTOR = '{namespace="risk-prod",serving_kserve_io_inferenceservice="fraud-detector"}'
PROD_MATCHERS = PROD_SELECTOR[1:-1]
PROD_PODS = '{namespace="risk-prod",pod=~"fraud-detector-.*",container!=""}'
DNS_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


def spec_data(slos: list[dict[str, Any]] | None = None, **monitoring: Any) -> dict[str, Any]:
    """The fraud-detector example's spec data, with other SLOs and monitoring settings."""
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / "fraud-detector" / "mlops.yaml").read_text(encoding="utf-8"))
    if slos is not None:
        data["monitoring"]["slos"] = slos
        data.pop("training", None)  # its retraining alert names one of the example's SLOs
    data["monitoring"].update(monitoring)
    return data


def load_spec_data(tmp_path: Path, data: dict[str, Any]) -> Spec:
    """Write data as a spec, load it through schema validation and the rules, normalise it."""
    path = tmp_path / "mlops.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return normalise(load_valid_spec(path).data, "mlops.yaml")


@pytest.fixture
def all_signals(tmp_path: Path) -> Spec:
    return load_spec_data(tmp_path, spec_data(ALL_SIGNAL_SLOS))


def production_queries(spec: Spec) -> dict[str, SLOQuery]:
    return {q.slo.name: q for q in slo_queries(spec, spec.environment("production"))}


def test_the_variant_covers_every_signal() -> None:
    assert {slo["signal"] for slo in ALL_SIGNAL_SLOS} == set(SIGNALS) == set(EXPECTED)


@pytest.mark.parametrize("slo", ALL_SIGNAL_SLOS, ids=lambda s: s["name"])
def test_every_signal_reads_its_metrics_with_the_model_selector(all_signals: Spec, slo: dict[str, Any]) -> None:
    q = production_queries(all_signals)[slo["name"]]
    metrics, selector = EXPECTED[slo["signal"]]
    for metric in metrics:
        assert metric in q.value
    if selector == "pods":
        assert PROD_PODS in q.value and "serving_kserve_io_inferenceservice" not in q.value
    elif slo["signal"] == "custom":
        assert PROD_MATCHERS in q.value
    else:
        assert PROD_SELECTOR in q.value or PROD_MATCHERS + ',code=~"5.."' in q.value
    if slo["signal"] not in ("memory", "serverLoad", "custom"):  # gauges have no rate window
        assert f"[{slo.get('window', '5m')}]" in q.value
    assert q.breach.startswith(q.value + " ")
    assert q.value.count("(") == q.value.count(")")
    assert "{{args." not in q.value  # a whole-model query: no version


def test_staging_queries_use_the_staging_namespace(all_signals: Spec) -> None:
    for q in slo_queries(all_signals, all_signals.environment("staging")):
        assert 'namespace="risk-staging"' in q.value and "risk-prod" not in q.value


def test_latency_and_error_rate_queries_are_unchanged(all_signals: Spec) -> None:
    """Golden files and dashboards depend on these exact strings."""
    queries = production_queries(all_signals)
    assert queries["p99-latency"].breach == (
        f"histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{PROD_SELECTOR}[5m])))"
        " * 1000 > 250")
    # no 5xx series yet is an error rate of 0 (`or vector(0)`), not "no data"
    assert queries["errors"].breach == (
        f'(sum(rate(http_requests_total{{{PROD_MATCHERS},code=~"5.."}}[5m])) or vector(0)) / '
        f"sum(rate(http_requests_total{PROD_SELECTOR}[5m])) > 0.02")
    assert queries["p99-latency"].summary == "fraud-detector in production: SLO p99-latency breached (threshold 250 ms)"
    assert queries["errors"].summary == "fraud-detector in production: SLO errors breached (threshold 0.02)"


def test_the_example_alert_rules_match_the_golden_files() -> None:
    example = EXAMPLES / "fraud-detector"
    spec = normalise(load_valid_spec(example / "mlops.yaml").data, "mlops.yaml")
    golden = (example / "rendered/apps/fraud-detector/overlays/production/prometheusrule.yaml").read_text()
    rules = yaml.safe_load(golden)["spec"]["groups"][0]["rules"]
    queries = slo_queries(spec, spec.environment("production"))
    assert [r["expr"] for r in rules] == [q.breach for q in queries]
    assert [r["annotations"]["summary"] for r in rules] == [q.summary for q in queries]


def test_per_replica_signals_take_the_worst_pod(all_signals: Spec) -> None:
    queries = production_queries(all_signals)
    assert queries["memory"].value == (
        f"max(sum by (pod) (container_memory_working_set_bytes{PROD_PODS})) / 1048576")
    assert queries["cpu"].value == (
        f"max(sum by (pod) (rate(container_cpu_usage_seconds_total{PROD_PODS}[10m])))")
    assert queries["server-load"].value == f"max(sum by (pod) (model_inflight_requests{PROD_SELECTOR}))"


def test_score_shift_compares_with_a_day_ago(all_signals: Spec) -> None:
    q = production_queries(all_signals)["score-shift"]
    value = q.value
    assert value.startswith("abs(") and value.endswith(")")
    assert value.count("offset 1d") == 2
    assert f"model_prediction_score_sum{PROD_SELECTOR}[1h] offset 1d" in value
    # a new model has no day of history: no data passes by default
    assert q.slo.no_data == "pass"
    assert q.success_condition == "len(result) == 0 || isNaN(result[0]) || result[0] <= 0.1"


def test_score_shift_of_one_version_compares_with_the_other_pods(all_signals: Spec) -> None:
    env = all_signals.environment("production")
    queries = {q.slo.name: q for q in slo_queries(all_signals, env, release_version("harbor/x:1.4.0"))}
    value = queries["score-shift"].value
    new = PROD_MATCHERS + ',mlopsgen_io_release="1.4.0"'
    stable = PROD_MATCHERS + ',mlopsgen_io_release!="1.4.0"'
    assert "offset" not in value
    assert f"model_prediction_score_sum{{{new}}}[1h]" in value
    assert f"model_prediction_score_sum{{{stable}}}[1h]" in value
    # the alerts keep reading the whole model
    assert "mlopsgen_io_release" not in queries["score-shift"].breach


def test_a_version_scopes_every_query_to_its_pods(all_signals: Spec) -> None:
    env = all_signals.environment("production")
    for q in slo_queries(all_signals, env, release_version("1.4.0")):
        assert 'mlopsgen_io_release="1.4.0"' in q.value, q.slo.name
    memory = {q.slo.name: q for q in slo_queries(all_signals, env, release_version("1.4.0"))}["memory"].value
    # cAdvisor series lack pod labels: the version's pods are those its scrape targets name
    assert memory == (f"max((sum by (pod) (container_memory_working_set_bytes{PROD_PODS}) and on (pod) "
                      f'up{{{PROD_MATCHERS},mlopsgen_io_release="1.4.0"}})) / 1048576')


def test_release_labels_are_valid_label_values() -> None:
    assert release_label("harbor.example.com/risk/fraud:2024.11.1") == "2024.11.1"
    assert release_label("2024.11.1") == "2024.11.1"
    digest = release_label("harbor/x@sha256:" + "a" * 64)
    assert digest.startswith("r-") and len(digest) == 22
    assert release_label("x:" + "v" * 80).startswith("r-")
    assert release_label("x:-bad-") == release_label("-bad-") != "-bad-"


@pytest.mark.parametrize(("name", "op", "success"), [
    ("p99-latency", ">", "<="), ("errors", ">", "<="), ("memory", ">", "<="), ("bright-images", ">", "<="),
    ("throughput", "<", ">="), ("input-volume", "<", ">="), ("dark-images", "<", ">="),
])
def test_operator_sets_the_comparison(all_signals: Spec, name: str, op: str, success: str) -> None:
    q = production_queries(all_signals)[name]
    threshold = number(q.slo.threshold)
    if op == "<":  # a floor also fires when the series are gone
        assert q.breach == f"{q.value} {op} {threshold} or absent({q.value})"
    else:
        assert q.breach == f"{q.value} {op} {threshold}"
    assert q.breach_operator == op
    assert q.success_condition == f"len(result) > 0 && !isNaN(result[0]) && result[0] {success} {threshold}"
    assert q.failure_condition == ""


@pytest.mark.parametrize(("no_data", "success", "failure"), [
    ("fail", "len(result) > 0 && !isNaN(result[0]) && result[0] <= 0.02", ""),
    ("pass", "len(result) == 0 || isNaN(result[0]) || result[0] <= 0.02", ""),
    ("inconclusive", "len(result) > 0 && !isNaN(result[0]) && result[0] <= 0.02",
     "len(result) > 0 && !isNaN(result[0]) && result[0] > 0.02"),
])
def test_no_data_policy_sets_the_argo_conditions(tmp_path: Path, no_data: str, success: str, failure: str) -> None:
    slos = [{"name": "errors", "signal": "errorRate", "threshold": 0.02, "noData": no_data}]
    q = production_queries(load_spec_data(tmp_path, spec_data(slos)))["errors"]
    assert (q.success_condition, q.failure_condition) == (success, failure)


def test_operator_below_flips_an_above_default(tmp_path: Path) -> None:
    slos = [{"name": "memory", "signal": "memory", "threshold": 100},
            {"name": "memory-floor", "signal": "memory", "threshold": 100, "operator": "below"},
            {"name": "rate-cap", "signal": "throughput", "threshold": 500, "operator": "above"}]
    queries = production_queries(load_spec_data(tmp_path, spec_data(slos)))
    assert queries["memory"].breach.endswith(" > 100") and queries["memory"].value.startswith("max(")
    # the worst replica of a floor is the lowest one
    assert " < 100 or absent(" in queries["memory-floor"].breach and queries["memory-floor"].value.startswith("min(")
    assert queries["memory-floor"].summary.endswith("breached (below threshold 100 MiB)")
    assert queries["rate-cap"].breach.endswith(" > 500")
    assert queries["rate-cap"].success_condition.endswith("result[0] <= 500")


def test_a_stock_bento_is_read_through_its_own_metric_names(tmp_path: Path) -> None:
    data = spec_data([{"name": "errors", "signal": "errorRate", "threshold": 0.02},
                      {"name": "p95", "signal": "latency", "percentile": 95, "threshold": 300},
                      {"name": "load", "signal": "serverLoad", "threshold": 4}], exporter="bentoml")
    queries = production_queries(load_spec_data(tmp_path, data))
    probes = 'endpoint!~"/healthz|/livez|/readyz|/metrics"'
    assert "bentoml_service_request_total{" in queries["errors"].value
    assert 'http_response_code=~"5.."' in queries["errors"].value
    assert "bentoml_service_request_duration_seconds_bucket{" in queries["p95"].value
    assert "bentoml_service_request_in_progress{" in queries["load"].value
    for q in queries.values():
        assert probes in q.value and "http_requests_total" not in q.value


def test_custom_query_gets_the_model_matchers(all_signals: Spec) -> None:
    q = production_queries(all_signals)["drift"]
    expected = CUSTOM_QUERY.replace("$selector", PROD_MATCHERS)
    assert q.value == f"({expected})"
    assert "$selector" not in q.value
    assert f"model_feature_drift_score{{{PROD_MATCHERS}}}" in q.value
    assert f'model_drift_alarm{{{PROD_MATCHERS}, kind="x"}}' in q.value
    # parenthesised: the comparison applies to the whole query, not to the last operand of `or`
    assert q.breach == f"({expected}) > 0.3"


def test_summaries_name_the_unit(all_signals: Spec) -> None:
    summaries = {name: q.summary for name, q in production_queries(all_signals).items()}
    assert summaries["memory"].endswith("(threshold 1536 MiB)")
    assert summaries["cpu"].endswith("(threshold 1.5 cores)")
    assert summaries["throughput"].endswith("(below threshold 5 requests/s)")
    assert summaries["input-volume"].endswith("(below threshold 1 rows/s)")
    assert summaries["server-load"].endswith("(threshold 8 requests in flight)")
    assert summaries["missing-values"].endswith("(threshold 0.05)")
    for summary in summaries.values():
        assert summary.startswith("fraud-detector in production: SLO ")


def test_queries_hold_no_user_text_but_dns_labels(all_signals: Spec) -> None:
    """Every string literal in a built-in query is a namespace or model name (DNS labels, so they
    need no escaping), the model's pod regex, or a fixed literal; custom queries are the user's own."""
    for env in all_signals.deploy.environments:
        assert DNS_LABEL.fullmatch(env.namespace) and DNS_LABEL.fullmatch(all_signals.name)
        allowed = {env.namespace, all_signals.name, f"{all_signals.name}-.*", "5..", ""}
        for q in slo_queries(all_signals, env):
            if q.slo.signal == "custom":
                continue
            for text in (q.value, q.breach):
                assert set(re.findall(r'"([^"]*)"', text)) <= allowed, text
                assert "\\" not in text and "`" not in text and "'" not in text


@pytest.mark.parametrize(("value", "text"), [(40, "40"), (0.01, "0.01"), (1.5, "1.5"), (1234567, "1234567"),
                                             (2.5e-05, "2.5e-05"), (0, "0"), (1536.0, "1536")])
def test_thresholds_are_written_exactly(value: float, text: str) -> None:
    assert number(value) == text
    assert float(text) == value


# ---------------------------------------------------------------------------- analyze direction

def test_worst_value_follows_the_operator() -> None:
    assert worst_value([3.0, 9.0, 5.0], "above") == 9.0
    assert worst_value([3.0, 9.0, 5.0], "below") == 3.0
    assert math.isnan(worst_value([3.0, math.nan], "above"))
    assert math.isnan(worst_value([math.nan, 3.0], "below"))


@pytest.mark.parametrize(("value", "operator", "ok"), [
    (40.0, "above", True), (40.1, "above", False), (39.0, "above", True),
    (5.0, "below", True), (4.9, "below", False), (6.0, "below", True),
    (math.nan, "above", False), (math.nan, "below", False),
])
def test_within_compares_in_the_slos_direction(value: float, operator: str, ok: bool) -> None:
    threshold = 40.0 if operator == "above" else 5.0
    assert within(value, operator, threshold) is ok


def test_analyze_fails_throughput_below_and_passes_above(
        fraud: Project, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch) -> None:
    fraud.spec.write_text(yaml.safe_dump(spec_data([
        {"name": "errors", "signal": "errorRate", "threshold": 0.01},
        {"name": "throughput", "signal": "throughput", "threshold": 5},
    ]), sort_keys=False), encoding="utf-8")
    answers = {"throughput": [3.0, 7.0], "errors": [0.001]}

    def fake_query(_url: str, promql: str, _at: str = "") -> list[float]:
        return answers["errors"] if 'code=~"5.."' in promql else answers["throughput"]

    monkeypatch.setattr(analyze_module, "query", fake_query)
    result = cli("analyze", fraud.spec, "--env", "production", "--prometheus-url", "http://prom:9090")
    assert result.code == 1
    assert "FAIL throughput: 3 (threshold at least 5)" in result.out  # the lowest series decides
    assert "PASS errors: 0.001 (threshold 0.01)" in result.out
    answers["throughput"] = [6.0, 7.5]
    result = cli("analyze", fraud.spec, "--env", "production", "--prometheus-url", "http://prom:9090")
    assert result.code == 0, result.text
    assert "PASS throughput: 6 (threshold at least 5)" in result.out
    answers["throughput"] = [math.nan]
    result = cli("analyze", fraud.spec, "--env", "production", "--prometheus-url", "http://prom:9090")
    assert result.code == 1
    assert "FAIL throughput: no value (NaN: nothing to divide by in the window, e.g. no requests); noData: fail" \
        in result.out


@pytest.mark.parametrize("runtime", ["kserve", "bentoml"])
def test_model_label_is_the_runtimes_servicemonitor_pod_label(tmp_path: Path, runtime: str) -> None:
    """The ServiceMonitor copies the runtime's pod label onto every series (podTargetLabels);
    Prometheus turns every character outside [a-zA-Z0-9_] into _."""
    from generator.runtimes import runtime_for

    data = spec_data(exporter="mlopsgen")  # the example's scoreShift: a stock bento does not export it
    data["serving"]["runtime"] = runtime
    spec = load_spec_data(tmp_path, data)
    label = re.sub(r"[^a-zA-Z0-9_]", "_", runtime_for(spec).scrape(spec).model_label)
    assert model_label(spec) == label
    for q in slo_queries(spec, spec.environment("production")):
        assert f'{label}="fraud-detector"' in q.value


# ------------------------------------------------------------------ against the stable version

def test_max_regression_adds_a_check_against_the_stable_version_in_an_analysis_only(tmp_path: Path) -> None:
    slos = [{"name": "p95", "signal": "latency", "percentile": 95, "threshold": 40, "maxRegression": 20},
            {"name": "tput", "signal": "throughput", "threshold": 5, "maxRegression": 2.5},
            {"name": "errors", "signal": "errorRate", "threshold": 0.01}]
    spec = load_spec_data(tmp_path, spec_data(slos))
    env = spec.environment("production")
    assert [q.slo.name for q in slo_queries(spec, env)] == ["p95", "tput", "errors"]  # alerts, dashboard
    queries = {q.slo.name: q for q in slo_queries(spec, env, release_version("v2"))}
    assert list(queries) == ["p95", "p95-vs-stable", "tput", "tput-vs-stable", "errors"]
    new, stable = queries["p95"].value, queries["p95"].value.replace('="v2"', '!="v2"')
    assert 'mlopsgen_io_release="v2"' in new
    assert queries["p95-vs-stable"].value == f"({new}) - ({stable})"
    tput_new = queries["tput"].value
    tput_stable = tput_new.replace('="v2"', '!="v2"')
    assert queries["tput-vs-stable"].value == f"({tput_stable}) - ({tput_new})"  # below: less is worse
    check = queries["tput-vs-stable"]
    assert (check.slo.operator, check.slo.threshold, check.slo.no_data) == ("above", 2.5, "pass")
    assert check.success_condition == "len(result) == 0 || isNaN(result[0]) || result[0] <= 2.5"
    assert queries["p95-vs-stable"].summary == (
        "fraud-detector in production: SLO p95 of the new version more than 20 ms above the stable version's")
