"""`mlopsgen analyze`: the canary analysis: every SLO query against Prometheus, fail on breach.

Each SLO is `pass`, `fail` (breached) or `inconclusive` (no data or NaN under `noData:
inconclusive`). Exit 0 when every SLO passes, 1 when one fails, 5 (generator/errors.py
EXIT_UNDETERMINED) when none fails but the SLOs could not all be judged: an inconclusive SLO, or
Prometheus that could not be asked or refused a query. The generated pipelines ask again on 5 only.

The queries come from generator/render/promql.py (with `--release`, the release's pods alone, as
the AnalysisTemplates measure the new ReplicaSet), the answers from
generator/integrations/prometheus.py (looked up here as `query`, so a test can stand in for
network faults)."""

from __future__ import annotations

import argparse
import math
from dataclasses import asdict

from generator.commands import emit_json
from generator.errors import EXIT_OK, EXIT_UNDETERMINED, EXIT_USER_ERROR, UserError
from generator.frozen import frozen
from generator.integrations.prometheus import query
from generator.model import SLO
from generator.render.promql import number, release_version, slo_queries
from generator.spec.intake import load_valid_model

NO_VALUE = "no value (NaN: nothing to divide by in the window, e.g. no requests)"
STATUS_WORDS = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE"}


@frozen
class Verdict:
    slo: str
    status: str  # pass | fail | inconclusive
    reason: str
    query: str


def worst_value(values: list[float], operator: str) -> float:
    """The series furthest on the breach side: the highest for `above`, the lowest for `below`.
    NaN (a ratio over a window without traffic) is worst of all, whatever the order of the series."""
    if any(math.isnan(v) for v in values):
        return math.nan
    return min(values) if operator == "below" else max(values)


def within(value: float, operator: str, threshold: float) -> bool:
    """The SLO holds: not above (or not below) the threshold."""
    return value >= threshold if operator == "below" else value <= threshold


def judge(slo: SLO, values: list[float], no_data: str) -> tuple[str, str]:
    """The SLO's status and the reason in words."""
    worst = worst_value(values, slo.operator) if values else math.nan
    if math.isnan(worst):
        what = NO_VALUE if values else "no data"
        return no_data, f"{what}; noData: {no_data}"
    bound = f"threshold {'at least ' if slo.operator == 'below' else ''}{number(slo.threshold)}"
    return ("pass" if within(worst, slo.operator, slo.threshold) else "fail"), f"{worst:g} ({bound})"


def verdict(statuses: list[str]) -> str:
    return "fail" if "fail" in statuses else "inconclusive" if "inconclusive" in statuses else "pass"


def run(args: argparse.Namespace) -> int:
    spec = load_valid_model(args.spec)
    try:
        env = spec.environment(args.env)
    except KeyError:
        raise UserError(f"no environment '{args.env}' in {args.spec}",
                        "environments: " + ", ".join(e.name for e in spec.deploy.environments)) from None
    url = args.prometheus_url or spec.monitoring.prometheus_url
    if not url.startswith(("http://", "https://")):
        raise UserError(f"--prometheus-url {url!r} is not an http(s) URL")
    version = release_version(args.release) if args.release else None
    results = []
    for q in slo_queries(spec, env, version):
        status, reason = judge(q.slo, query(url, q.value, args.at or ""), args.no_data or q.slo.no_data)
        results.append(Verdict(q.slo.name, status, reason, q.value))
    overall = verdict([r.status for r in results])
    if args.format == "json":
        emit_json({"env": env.name, "release": args.release or "", "verdict": overall,
                   "passed": overall == "pass", "slos": [asdict(r) for r in results]})
    else:
        scope = f" (release {args.release})" if args.release else ""
        for r in results:
            print(f"{STATUS_WORDS[r.status]} {r.slo}: {r.reason}")
        print(f"analysis of {env.name}{scope}: " + {"pass": "passed", "fail": "FAILED",
                                                    "inconclusive": "INCONCLUSIVE (could not judge)"}[overall])
    return {"pass": EXIT_OK, "fail": EXIT_USER_ERROR, "inconclusive": EXIT_UNDETERMINED}[overall]
