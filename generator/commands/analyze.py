"""`mlopsgen analyze`: the canary analysis: every SLO query against Prometheus, fail on breach.
Exit 0 when every SLO holds, 1 when one is breached (or has no data, by default), 5 when Prometheus
could not be asked or refused a query (generator/errors.py EXIT_UNDETERMINED).

The queries come from generator/render/promql.py, the answers from generator/integrations/prometheus.py
(looked up here as `query`, so a test can stand in for Prometheus)."""

from __future__ import annotations

import argparse
import math

from generator.commands import emit_json
from generator.errors import EXIT_OK, EXIT_USER_ERROR, UserError
from generator.integrations.prometheus import query
from generator.render.promql import slo_queries
from generator.spec.intake import load_valid_spec
from generator.spec.normalise import normalise


def worst_value(values: list[float], operator: str) -> float:
    """The series furthest on the breach side: the highest for `above`, the lowest for `below`.
    NaN (a ratio over a window without traffic) is worst of all, whatever the order of the series."""
    if any(math.isnan(v) for v in values):
        return math.nan
    return min(values) if operator == "below" else max(values)


def within(value: float, operator: str, threshold: float) -> bool:
    """The SLO holds: not above (or not below) the threshold. NaN never holds, as in the canary analysis."""
    return value >= threshold if operator == "below" else value <= threshold


def run(args: argparse.Namespace) -> int:
    spec = normalise(load_valid_spec(args.spec).data, str(args.spec))
    try:
        env = spec.environment(args.env)
    except KeyError:
        raise UserError(f"no environment '{args.env}' in {args.spec}",
                        "environments: " + ", ".join(e.name for e in spec.deploy.environments)) from None
    url = args.prometheus_url or spec.monitoring.prometheus_url
    if not url.startswith(("http://", "https://")):
        raise UserError(f"--prometheus-url {url!r} is not an http(s) URL")
    results = []
    for q in slo_queries(spec, env):
        values = query(url, q.value)
        if not values:
            ok, reason = args.no_data == "pass", "no data"
        else:
            worst = worst_value(values, q.slo.operator)
            shown = "no value (NaN: nothing to divide by in the window)" if math.isnan(worst) else f"{worst:g}"
            ok, reason = within(worst, q.slo.operator, q.slo.threshold), f"{shown} (threshold {q.slo.threshold:g})"
        results.append({"slo": q.slo.name, "passed": ok, "reason": reason, "query": q.value})
    passed = all(r["passed"] for r in results)
    if args.format == "json":
        emit_json({"env": env.name, "passed": passed, "slos": results})
    else:
        for r in results:
            print(f"{'PASS' if r['passed'] else 'FAIL'} {r['slo']}: {r['reason']}")
        print(f"analysis of {env.name}: " + ("passed" if passed else "FAILED"))
    return EXIT_OK if passed else EXIT_USER_ERROR
