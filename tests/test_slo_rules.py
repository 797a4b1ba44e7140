"""The SLO rules of generator/spec/slo_rules.py, through `mlopsgen validate`: a custom query must
parse as PromQL (promql-parser), read the model through $selector and give an instant vector; a
threshold must be crossable in its operator's direction. Each problem is located at its value."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generator.cli import main
from generator.render.promql import SELECTOR_PLACEHOLDER
from generator.spec import slo_rules
from generator.spec.validation import spec_schema

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(REPO.glob("examples/*/mlops.yaml"))
FRAUD = REPO / "examples" / "fraud-detector" / "mlops.yaml"
PARSE_HINT = ("check its brackets, quotes and function names; $selector stands for label matchers inside braces, "
              "e.g. sum(rate(my_metric_total{$selector}[5m]))")


def spec_with_slos(tmp_path: Path, *slos: str) -> Path:
    """The fraud-detector example with these SLO list items (YAML flow mappings) first in monitoring.slos."""
    text = FRAUD.read_text(encoding="utf-8")
    assert text.count("\n  slos:\n") == 1
    items = "".join(f"    - {slo}\n" for slo in slos)
    spec = tmp_path / "mlops.yaml"
    spec.write_text(text.replace("\n  slos:\n", "\n  slos:\n" + items), encoding="utf-8")
    return spec


def located(spec: Path, text: str) -> tuple[int, int]:
    """1-based line and column of the one occurrence of text in the spec."""
    lines = spec.read_text(encoding="utf-8").splitlines()
    hits = [(n, line.index(text)) for n, line in enumerate(lines, 1) if text in line]
    assert len(hits) == 1, hits
    return hits[0][0], hits[0][1] + 1


def problems(spec: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    code = main(["validate", str(spec), "--format", "json"])
    report = json.loads(capsys.readouterr().out)
    assert code == (1 if report.get("problems") else 0), report
    found: list[dict[str, Any]] = report["problems"]
    return found


def custom(query: str, extra: str = "threshold: 1") -> str:
    return "{name: mine, signal: custom, query: " + json.dumps(query) + ", " + extra + "}"


def test_a_query_that_does_not_parse_is_located_with_the_parsers_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = "sum(rate(my_metric_total{$selector}[5m])"
    spec = spec_with_slos(tmp_path, custom(query))
    line, column = located(spec, json.dumps(query))
    assert problems(spec, capsys) == [{
        "file": str(spec), "line": line, "column": column, "path": "monitoring.slos[0].query",
        "message": "the query is not valid PromQL: unclosed left parenthesis", "hint": PARSE_HINT,
        "rule": "slo-query-promql"}]


def test_the_text_report_names_file_line_field_and_hint_and_render_writes_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    query = "rate(my_metric_total{$selector}[5m]) /"
    spec = spec_with_slos(tmp_path, custom(query))
    line, column = located(spec, json.dumps(query))
    assert main(["validate", str(spec)]) == 1
    err = capsys.readouterr().err
    assert err == (f"{spec}:{line}:{column}: monitoring.slos[0].query: the query is not valid PromQL: "
                   f"invalid promql query\n    hint: {PARSE_HINT}\n1 problem in the spec\n")
    out = tmp_path / "out"
    out.mkdir()
    assert main(["render", str(spec), "--out", str(out)]) == 1
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("query", "message"), [
    ("ratee(my_metric_total{$selector}[5m])", "unknown function with name 'ratee'"),
    ("rate(my_metric_total{$selector})", "expected type matrix in call to function 'rate', got vector"),
    ("my_metric{$selector", "unexpected end of input inside braces"),
    ("sum(my_metric{$selector}[5m])", "expected type vector in aggregation expression, got matrix"),
    ("my_metric{code=\"500\" $selector}", None),  # a missing comma: whatever the parser says
    ("my_metric$selector", None),  # $selector outside braces
])
def test_parser_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], query: str, message: str | None) -> None:
    spec = spec_with_slos(tmp_path, custom(query))
    [problem] = problems(spec, capsys)
    assert (problem["path"], problem["rule"], problem["hint"]) == ("monitoring.slos[0].query", "slo-query-promql",
                                                                  PARSE_HINT)
    assert (problem["line"], problem["column"]) == located(spec, json.dumps(query))
    assert problem["message"].startswith("the query is not valid PromQL: ")
    if message is not None:
        assert problem["message"] == f"the query is not valid PromQL: {message}"


@pytest.mark.parametrize(("query", "kind", "hint"), [
    ("my_metric{$selector}[5m]", "range vector", "rate(my_metric_total{$selector}[5m])"),
    ("(my_metric{$selector}[5m] offset 1h)", "range vector", "avg_over_time(my_metric{$selector}[5m])"),
    ("rate(my_metric_total{$selector}[5m])[30m:1m]", "range vector", "avg_over_time"),
    ("scalar(sum(my_metric{$selector}))", "scalar", "a scalar cannot be compared without bool"),
    ("2 * scalar(my_metric{$selector})", "scalar", "avg(my_metric{$selector})"),
    ('"ok" # $selector', "string", "avg(my_metric{$selector})"),
])
def test_a_query_that_is_not_an_instant_vector(tmp_path: Path, capsys: pytest.CaptureFixture[str], query: str,
                                               kind: str, hint: str) -> None:
    spec = spec_with_slos(tmp_path, custom(query))
    [problem] = problems(spec, capsys)
    assert (problem["line"], problem["column"]) == located(spec, json.dumps(query))
    assert problem["path"] == "monitoring.slos[0].query"
    assert problem["message"] == f"the query returns a {kind}, not an instant vector to compare with the threshold"
    assert hint in problem["hint"] and problem["rule"] == "slo-query-type"


REJECTED = ["x[5m]", "(x[5m])", "rate(x[5m])[10m:1m]", "1", "-1", "scalar(x)", "time()", "1 + scalar(x)", '"s"']
ACCEPTED = ["x", "-x", "sum(rate(x[5m])) / sum(rate(y[5m]))", "vector(0)", "1 - x", "x > bool 1",
            "abs(x - x offset 1d)",
            "(rate(x[5m]) or vector(0)) / rate(y[5m])", "histogram_quantile(0.9, sum by (le) (rate(x[5m]))) * 1000",
            "count_values(\"v\", x)", "absent(x)", "label_replace(x, \"a\", \"$1\", \"b\", \"(.*)\")"]


@pytest.mark.parametrize("query", REJECTED + ACCEPTED)
def test_the_value_type_agrees_with_the_alert_rules_comparison(query: str) -> None:
    """A query is an instant vector exactly when `(<query>) > <threshold>`, the alert's breach
    expression (generator/render/promql.py breach_query), parses."""
    import promql_parser

    try:
        promql_parser.parse(f"({query}) > 1")
        comparable = True
    except ValueError:
        comparable = False
    assert comparable == (query in ACCEPTED)
    kind = slo_rules._value_type(promql_parser, promql_parser.parse(query))
    assert (kind == "instant vector") == comparable, kind


@pytest.mark.parametrize("query", [
    "avg(my_metric)",
    "sum(rate(my_metric_total[5m])) / sum(rate(my_requests_total[5m]))",
])
def test_a_query_without_selector_reads_every_model(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     query: str) -> None:
    spec = spec_with_slos(tmp_path, custom(query))
    line, column = located(spec, json.dumps(query))
    assert problems(spec, capsys) == [{
        "file": str(spec), "line": line, "column": column, "path": "monitoring.slos[0].query",
        "message": "the query has no $selector, so it reads every model's series in every environment",
        "hint": "put $selector in the braces of each metric, e.g. avg(my_metric{$selector})",
        "rule": "slo-query-selector"}]


def test_a_query_without_selector_that_does_not_parse_reports_both(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    spec = spec_with_slos(tmp_path, custom("avg(my_metric"))
    assert [p["rule"] for p in problems(spec, capsys)] == ["slo-query-selector", "slo-query-promql"]


@pytest.mark.parametrize("query", [
    "avg(my_metric{$selector})",
    "sum(rate(my_total{code=~\"5..\",$selector}[5m])) / sum(rate(my_total{$selector}[5m]))",
    "max(my_gauge{$selector}) - min(my_gauge{$selector})",
    "(rate(my_total{$selector}[5m]) or vector(0))",
])
def test_good_queries_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str], query: str) -> None:
    assert problems(spec_with_slos(tmp_path, custom(query)), capsys) == []


@pytest.mark.parametrize(("slo", "value", "message", "hint"), [
    ("{name: tput, signal: throughput, threshold: 0}", "threshold: 0",
     "throughput is never negative, so it can never be below a threshold of 0",
     "raise the threshold above 0, or breach above it with operator: above (below is throughput's default operator)"),
    ("{name: mem, signal: memory, operator: below, threshold: 0}", "threshold: 0",
     "memory is never negative, so it can never be below a threshold of 0",
     "raise the threshold above 0, or breach above it with operator: above"),
    ("{name: nulls, signal: nullPredictions, threshold: 1}", "threshold: 1",
     "nullPredictions is a share from 0 to 1, so it can never be above a threshold of 1",
     "lower the threshold, e.g. 0.05 for 5%"),
    ("{name: errs, signal: errorRate, operator: above, threshold: 1.0}", "threshold: 1.0",
     "errorRate is a share from 0 to 1, so it can never be above a threshold of 1",
     "lower the threshold, e.g. 0.05 for 5%"),
])
def test_a_threshold_that_can_never_breach(tmp_path: Path, capsys: pytest.CaptureFixture[str], slo: str, value: str,
                                           message: str, hint: str) -> None:
    spec = spec_with_slos(tmp_path, slo)
    line, column = located(spec, slo)
    column += slo.index(value) + len("threshold: ")
    assert problems(spec, capsys) == [{
        "file": str(spec), "line": line, "column": column, "path": "monitoring.slos[0].threshold",
        "message": message, "hint": hint, "rule": "slo-threshold"}]


@pytest.mark.parametrize("slo", [
    "{name: tput, signal: throughput, threshold: 0.001}",
    "{name: tput, signal: throughput, operator: above, threshold: 0}",
    "{name: errs, signal: errorRate, threshold: 0}",  # any error at all
    "{name: errs, signal: errorRate, threshold: 0.999}",
    "{name: nulls, signal: nullPredictions, operator: below, threshold: 1}",
    custom("avg(my_metric{$selector})", "operator: below, threshold: 0"),  # a custom value may be negative
])
def test_thresholds_that_can_breach_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str], slo: str) -> None:
    assert problems(spec_with_slos(tmp_path, slo), capsys) == []


def test_a_share_threshold_above_one_is_the_schemas_error_only(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The schema caps a share's threshold at 1 (`maximum: 1`); the rule does not say it again."""
    spec = spec_with_slos(tmp_path, "{name: errs, signal: errorRate, threshold: 1.5}")
    found = problems(spec, capsys)
    assert [(p["path"], p["message"]) for p in found] == [("monitoring.slos[0].threshold", "1.5 must be at most 1")]


def test_the_share_signals_are_the_ones_the_schema_caps_at_one() -> None:
    slo = spec_schema()["properties"]["monitoring"]["properties"]["slos"]["items"]
    capped = [rule["if"]["properties"]["signal"]["enum"] for rule in slo["allOf"]
              if rule.get("then", {}).get("properties", {}).get("threshold", {}).get("maximum") == 1]
    assert [set(signals) for signals in capped] == [set(slo_rules.SHARES)]
    assert slo["properties"]["threshold"]["minimum"] == 0


def test_the_placeholder_is_the_renderers() -> None:
    assert slo_rules.SELECTOR_PLACEHOLDER == SELECTOR_PLACEHOLDER


@pytest.mark.parametrize("spec", EXAMPLES, ids=lambda p: p.parent.name)
def test_every_example_still_validates(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(spec)]) == 0
    assert capsys.readouterr().out.strip() == f"{spec}: valid"


def _imports_parser(spec: Path) -> bool:
    """Validate in a fresh interpreter; whether promql_parser was imported."""
    code = ("import sys; from pathlib import Path; from generator.spec.intake import load_valid_spec; "
            f"load_valid_spec(Path({str(spec)!r})); print('promql_parser' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return {"True": True, "False": False}[result.stdout.strip()]


def test_the_parser_is_imported_only_for_a_custom_query() -> None:
    without = [spec for spec in EXAMPLES if "signal: custom" not in spec.read_text(encoding="utf-8")]
    with_custom = [spec for spec in EXAMPLES if "signal: custom" in spec.read_text(encoding="utf-8")]
    assert without, "every example has a custom SLO: the lazy import is not tested"
    assert not _imports_parser(without[0])
    if with_custom:  # the check itself can tell an import
        assert _imports_parser(with_custom[0])


def test_the_parser_is_imported_for_a_custom_query(tmp_path: Path) -> None:
    assert _imports_parser(spec_with_slos(tmp_path, custom("avg(my_metric{$selector})")))


# ------------------------------------------------------------------- what the exporter measures

BENTO = REPO / "examples" / "sentiment-bento" / "mlops.yaml"


def bento_with_slo(tmp_path: Path, slo: str, exporter: bool = True) -> Path:
    """The sentiment-bento example with this SLO added, and with or without its `exporter: bentoml`."""
    text = BENTO.read_text(encoding="utf-8")
    assert text.count("\n  slos:\n") == 1 and text.count("\n  exporter: bentoml\n") == 1
    if not exporter:
        text = text.replace("\n  exporter: bentoml\n", "\n")
    spec = tmp_path / "mlops.yaml"
    spec.write_text(text.replace("\n  slos:\n", f"\n  slos:\n    - {slo}\n"), encoding="utf-8")
    return spec


@pytest.mark.parametrize("exporter", [True, False], ids=["explicit", "runtime-default"])
def test_a_signal_the_exporter_does_not_export_is_located_at_the_signal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], exporter: bool) -> None:
    slo = "{name: nulls, signal: nullPredictions, threshold: 0.1}"
    spec = bento_with_slo(tmp_path, slo, exporter)
    line, column = located(spec, slo)
    default = "" if exporter else " (the default for this runtime)"
    assert problems(spec, capsys) == [{
        "file": str(spec), "line": line, "column": column + slo.index("nullPredictions"),
        "path": "monitoring.slos[0].signal",
        "message": f"monitoring.exporter bentoml{default} does not export the metrics of nullPredictions",
        "hint": "measure it with signal: custom and a query on the metrics your server exports, or serve the "
                "scaffolded server (exporter: mlopsgen)", "rule": "slo-exporter"}]


@pytest.mark.parametrize("signal", ["latency", "errorRate", "throughput", "serverLoad", "memory", "cpu"])
def test_bentoml_exports_the_software_signals(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              signal: str) -> None:
    percentile = ", percentile: 95" if signal == "latency" else ""
    slo = f"{{name: s, signal: {signal}{percentile}, threshold: 0.5}}"
    assert problems(bento_with_slo(tmp_path, slo), capsys) == []


def test_the_scaffolded_exporter_measures_every_signal() -> None:
    from generator.runtimes.exporters import ALL_SIGNALS, MLOPSGEN

    signals = spec_schema()["properties"]["monitoring"]["properties"]["slos"]["items"]["properties"]["signal"]["enum"]
    assert set(signals) == ALL_SIGNALS and all(MLOPSGEN.measures(s) for s in signals)


def test_max_regression_is_refused_on_score_shift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    slo = "{name: shift, signal: scoreShift, threshold: 0.1, maxRegression: 0.05}"
    spec = spec_with_slos(tmp_path, slo)
    line, column = located(spec, slo)
    assert problems(spec, capsys) == [{
        "file": str(spec), "line": line, "column": column + slo.index("maxRegression: ") + len("maxRegression: "),
        "path": "monitoring.slos[0].maxRegression",
        "message": "a scoreShift already compares the new version with the stable one in an analysis",
        "hint": "drop maxRegression, and set the shift allowed in threshold", "rule": "slo-regression"}]
