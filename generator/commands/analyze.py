"""`mlopsgen analyze`: the canary analysis: every SLO query against Prometheus, fail on breach."""

from __future__ import annotations

import argparse
import http.client
import json
import math
import urllib.error
import urllib.parse
import urllib.request

from generator.commands import emit_json
from generator.errors import EXIT_OK, EXIT_USER_ERROR, UserError
from generator.render.promql import slo_queries
from generator.spec.intake import load_valid_spec
from generator.spec.normalise import normalise

TIMEOUT_SECONDS = 15


def query(base_url: str, promql: str) -> list[float]:
    url = base_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - http(s) only
            body = json.loads(response.read())
    except urllib.error.HTTPError as exc:  # Prometheus answers 400/422/503 with a JSON error body
        try:
            body = json.loads(exc.read())
        except ValueError:
            raise UserError(f"Prometheus at {base_url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise UserError(f"Prometheus at {base_url} did not answer: {exc}",
                        "check --prometheus-url and that the runner can reach it") from None
    if not isinstance(body, dict):
        raise UserError(f"Prometheus at {base_url} sent something that is not an API response")
    if body.get("status") != "success":
        raise UserError(f"Prometheus rejected the query: {body.get('error', body)}")
    return [float(sample["value"][1]) for sample in body.get("data", {}).get("result", [])]


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
            ok, reason = within(worst, q.slo.operator, q.slo.threshold), f"{worst:g} (threshold {q.slo.threshold:g})"
        results.append({"slo": q.slo.name, "passed": ok, "reason": reason, "query": q.value})
    passed = all(r["passed"] for r in results)
    if args.format == "json":
        emit_json({"env": env.name, "passed": passed, "slos": results})
    else:
        for r in results:
            print(f"{'PASS' if r['passed'] else 'FAIL'} {r['slo']}: {r['reason']}")
        print(f"analysis of {env.name}: " + ("passed" if passed else "FAILED"))
    return EXIT_OK if passed else EXIT_USER_ERROR
