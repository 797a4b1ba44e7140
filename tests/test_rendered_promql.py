"""Every PromQL mlopsgen renders, parsed by the real promtool: each example's PrometheusRules
(`promtool check rules` on the rule file the Prometheus Operator would write), and the queries of
its AnalysisTemplates and dashboards; then the same for a spec with an SLO of every signal and an
awkward custom query (comments, quotes, Jinja look-alikes), for every version scope.

An AnalysisTemplate query holds `{{args.canary-hash}}` inside a quoted label value; Argo Rollouts
replaces it before it sends the query, so it is replaced here by a hash of the same shape."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_tools import check_expressions, check_rules, rule_file_from_prometheusrule
from test_monitoring_artifacts import AWKWARD_QUERY
from test_promql import ALL_SIGNAL_SLOS, load_spec_data, spec_data

from generator.render.promql import release_version, rollout_version, slo_queries

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.parent for p in REPO.glob("examples/*/mlops.yaml"))
CANARY_HASH = "6c5d8f7b9"  # what Argo Rollouts puts for {{args.canary-hash}}


def manifests(example: Path, kind: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted((example / "rendered").rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(doc, dict) and doc.get("kind") == kind:
                found.append((str(path.relative_to(example)), doc))
    return found


def argo_substituted(query: str) -> str:
    return query.replace("{{args.canary-hash}}", CANARY_HASH)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_promtool_accepts_every_rendered_prometheusrule(example: Path) -> None:
    rules = manifests(example, "PrometheusRule")
    assert rules, f"{example.name} renders no PrometheusRule"
    for _path, manifest in rules:
        check_rules(rule_file_from_prometheusrule(manifest))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_promtool_parses_every_analysis_and_dashboard_query(example: Path) -> None:
    exprs: dict[str, str] = {}
    for path, template in manifests(example, "AnalysisTemplate"):
        for metric in template["spec"]["metrics"]:
            query = metric["provider"]["prometheus"]["query"]
            assert "{{args.canary-hash}}" in query, "the analysis measures the new ReplicaSet alone"
            exprs[f"{path} {metric['name']}"] = argo_substituted(query)
    for path, configmap in manifests(example, "ConfigMap"):
        for file, text in configmap.get("data", {}).items():
            for panel in json.loads(text)["panels"]:
                for n, target in enumerate(panel.get("targets", [])):
                    exprs[f"{path} {file} {panel['title']} #{n}"] = target["expr"]
    assert exprs, f"{example.name} renders no analysis or dashboard query"
    check_expressions(exprs)


def test_promtool_parses_every_signal_in_every_scope(tmp_path: Path) -> None:
    slos = [*ALL_SIGNAL_SLOS, {"name": "awkward", "signal": "custom", "query": AWKWARD_QUERY, "threshold": 1}]
    slos = [slo if slo["signal"] == "scoreShift" else {**slo, "maxRegression": 1} for slo in slos]  # vs stable too
    spec = load_spec_data(tmp_path, spec_data(slos))
    exprs = {}
    for env in spec.deploy.environments:
        for scope, version in (("all", None), ("rollout", rollout_version()), ("release", release_version("v1.2+b"))):
            for q in slo_queries(spec, env, version):
                exprs[f"{env.name} {scope} {q.slo.name} value"] = argo_substituted(q.value)
                exprs[f"{env.name} {scope} {q.slo.name} breach"] = argo_substituted(q.breach)
    check_expressions(exprs)
