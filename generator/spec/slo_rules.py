"""The SLO rules that read values: the model server exports the signal's metrics
(generator/runtimes/exporters.py), a custom query is PromQL that reads this model, and a threshold
can be crossed in its operator's direction.

A custom query is parsed with promql-parser (the Rust parser of the Prometheus 2.45 grammar, from
PyPI), after `$selector` is replaced by label matchers of the shape the renderer substitutes, so
the query checked is the query rendered. The parser is imported only when a spec has a custom
query: `python -X importtime -c 'import promql_parser'` measures 1.2-1.6 ms cumulative (the
extension module about 1.0-1.3 ms of it; promql-parser 0.11.0, CPython 3.11, x86-64 Linux).

The schema already bounds a share signal's threshold (`maximum: 1` for errorRate, missingValues and
nullPredictions) and every threshold (`minimum: 0`); what it cannot say is that `above 1` and
`below 0` are bounds no value crosses. A threshold it rejected is unreadable here, so these rules
stand aside for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.errors import Problem
from generator.model import SLO
from generator.packages import import_for
from generator.runtimes.exporters import Exporter
from generator.spec.loader import Locator, PathKey

SLOS: PathKey = ("monitoring", "slos")
# The same placeholder as generator/render/promql.py SELECTOR_PLACEHOLDER (spec may not import
# render; tests/test_slo_rules.py checks they agree). The renderer replaces it by the model's label
# matchers without braces; this stand-in has that shape, so `my_metric{$selector}` parses as
# `my_metric{namespace="ns",model="m"}`.
SELECTOR_PLACEHOLDER = "$selector"
SELECTOR_STAND_IN = 'namespace="ns",model="m"'
# Ratios of a part to a whole, never above 1: the signals whose threshold the schema caps at 1
# (the signals generator/render/promql.py builds with _share); tests/test_slo_rules.py checks the schema agrees.
SHARES = frozenset({"errorRate", "missingValues", "nullPredictions"})
SELECTOR_HINT = "put $selector in the braces of each metric, e.g. avg(my_metric{$selector})"


def slo_problems(slos: tuple[SLO, ...], exporter: Exporter, where: Locator) -> Iterator[Problem]:
    for i, slo in enumerate(slos):
        at = (*SLOS, i)
        if not where.readable(at, (*at, "signal")):
            continue
        if slo.signal == "scoreShift" and slo.max_regression is not None:
            yield where.problem((*at, "maxRegression"), "a scoreShift already compares the new version with the "
                                "stable one in an analysis", "drop maxRegression, and set the shift allowed in "
                                "threshold", "slo-regression")
        if not exporter.measures(slo.signal):
            chosen = "" if where.present(("monitoring", "exporter")) else " (the default for this runtime)"
            yield where.problem((*at, "signal"), f"monitoring.exporter {exporter.name}{chosen} does not export "
                                f"the metrics of {slo.signal}", "measure it with signal: custom and a query on the "
                                "metrics your server exports, or serve the scaffolded server (exporter: mlopsgen)",
                                "slo-exporter")
        elif slo.signal == "custom":
            if where.readable((*at, "query")):
                yield from _query(slo.query, where, (*at, "query"))
        elif where.readable((*at, "operator"), (*at, "threshold")):
            yield from _threshold(slo, where, at)


def _query(query: str, where: Locator, at: PathKey) -> Iterator[Problem]:
    if SELECTOR_PLACEHOLDER not in query:
        yield where.problem(at, "the query has no $selector, so it reads every model's series in every environment",
                            SELECTOR_HINT, "slo-query-selector")
    parser = import_for("promql_parser", package="promql-parser", purpose="checking custom SLO queries")
    try:
        expression = parser.parse(query.replace(SELECTOR_PLACEHOLDER, SELECTOR_STAND_IN))
    except ValueError as exc:  # the parser's message, e.g. "unclosed left parenthesis"
        yield where.problem(at, f"the query is not valid PromQL: {exc}",
                            "check its brackets, quotes and function names; $selector stands for label matchers "
                            "inside braces, e.g. sum(rate(my_metric_total{$selector}[5m]))", "slo-query-promql")
        return
    kind = _value_type(parser, expression)
    if kind != "instant vector":
        yield where.problem(at, f"the query returns a {kind}, not an instant vector to compare with the threshold",
                            _TYPE_HINT[kind], "slo-query-type")


_TYPE_HINT = {
    "range vector": "take one value per series over the range, e.g. rate(my_metric_total{$selector}[5m]) or "
                    "avg_over_time(my_metric{$selector}[5m])",
    "scalar": "query a metric of the model, e.g. avg(my_metric{$selector}); a scalar cannot be compared "
              "without bool, so the alert rule would not parse",
    "string": "query a metric of the model, e.g. avg(my_metric{$selector})",
}


def _value_type(parser: Any, expression: Any) -> str:
    """What a parsed expression evaluates to: instant vector, range vector, scalar or string.

    The alert rule compares the query with its threshold ((<query>) > <threshold>), which Prometheus
    accepts only for an instant vector: a range vector or a string cannot be compared at all, and a
    comparison of scalars needs `bool`."""
    if isinstance(expression, (parser.ParenExpr, parser.UnaryExpr)):
        return _value_type(parser, expression.expr)
    if isinstance(expression, (parser.MatrixSelector, parser.SubqueryExpr)):
        return "range vector"
    if isinstance(expression, parser.StringLiteral):
        return "string"
    if isinstance(expression, parser.NumberLiteral):
        return "scalar"
    if isinstance(expression, parser.Call):
        returns = expression.func.return_type  # a ValueType, comparable but not hashable
        kinds = ((parser.ValueType.Scalar, "scalar"), (parser.ValueType.Matrix, "range vector"),
                 (parser.ValueType.String, "string"))
        return next((kind for value, kind in kinds if returns == value), "instant vector")
    if isinstance(expression, parser.BinaryExpr):  # the parser rejects operands that are not numbers
        sides = {_value_type(parser, expression.lhs), _value_type(parser, expression.rhs)}
        return "scalar" if sides == {"scalar"} else "instant vector"
    return "instant vector"  # a vector selector or an aggregation


def _threshold(slo: SLO, where: Locator, at: PathKey) -> Iterator[Problem]:
    threshold = (*at, "threshold")
    if slo.operator == "below" and slo.threshold == 0:
        default = "" if where.present((*at, "operator")) else f" (below is {slo.signal}'s default operator)"
        yield where.problem(threshold, f"{slo.signal} is never negative, so it can never be below a threshold of 0",
                            f"raise the threshold above 0, or breach above it with operator: above{default}",
                            "slo-threshold")
    elif slo.operator == "above" and slo.signal in SHARES and slo.threshold >= 1:
        yield where.problem(threshold, f"{slo.signal} is a share from 0 to 1, so it can never be above a threshold "
                            f"of {slo.threshold:g}", "lower the threshold, e.g. 0.05 for 5%", "slo-threshold")
