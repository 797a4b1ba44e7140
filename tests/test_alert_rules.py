"""The rendered SLO alerts of every example, run by the real promtool (`promtool test rules`).

For each environment's PrometheusRule and each of its alerts, on data from tests/slo_data.py:
- a breach fires the alert once its `for:` has passed, and not a minute before;
- healthy data stays silent; for errorRate also with no 5xx series at all, and with some 5xx under
  the threshold;
- a below-threshold SLO also fires when its series are gone (the model stopped answering);
- a breach of the same model in another environment leaves this environment's alert silent.
The expected alert carries exactly the rule's labels and annotations: every query aggregates to
one series without labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import slo_data
import yaml
from prometheus_tools import rule_file_from_prometheusrule, test_rules
from slo_data import Place

from generator.model import SLO, Environment, Spec, duration_seconds
from generator.render.promql import slo_queries
from generator.render.targets.gitops_names import environment_names
from generator.spec.intake import load_valid_spec
from generator.spec.normalise import normalise

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.parent.name for p in REPO.glob("examples/*/mlops.yaml"))
MARGIN_MINUTES = 10


def example_spec(name: str) -> Spec:
    path = REPO / "examples" / name / "mlops.yaml"
    return normalise(load_valid_spec(path).data, str(path))


def rendered_rules(name: str, spec: Spec, env: Environment) -> dict[str, Any]:
    path = REPO / "examples" / name / "rendered" / environment_names(spec, env).overlay / "prometheusrule.yaml"
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(manifest, dict)
    return manifest


def minutes(duration: str) -> int:
    return duration_seconds(duration) // 60


def scenario(alert: dict[str, Any], eval_minute: int, series: list[dict[str, str]], fires: bool,
             interval_minutes: int) -> dict[str, Any]:
    expected = [{"exp_labels": alert["labels"], "exp_annotations": alert.get("annotations", {})}] if fires else []
    return {"interval": "1m", "input_series": series,
            "alert_rule_test": [{"eval_time": f"{eval_minute}m", "alertname": alert["alert"], "exp_alerts": expected}],
            "name": f"{alert['alert']} at {eval_minute}m of {interval_minutes}m"}


def scenarios(example: str, spec: Spec, env: Environment, other: Environment | None,
              slo: SLO, alert: dict[str, Any]) -> list[dict[str, Any]]:
    build = slo_data.builder(example, slo)
    here, there = Place(spec, env), Place(spec, other) if other else None
    start, wait = slo_data.breach_start_minutes(slo), minutes(slo.for_)
    span = start + minutes(slo.window) + wait + MARGIN_MINUTES
    late = span - MARGIN_MINUTES // 2
    breach, healthy = build(here, slo, span, False), build(here, slo, span, True)
    tests = [scenario(alert, start + wait - 1, breach, False, span),  # pending, not yet firing
             scenario(alert, late, breach, True, span),
             scenario(alert, late, healthy, False, span)]
    if slo.signal == "errorRate":  # some 5xx, under the threshold
        tests.append(scenario(alert, late, slo_data.requests(here, span, 5, slo.threshold / 2), False, span))
    if slo.operator == "below":  # nothing at all: the model is down
        tests += [scenario(alert, wait - 1, [], False, span), scenario(alert, late, [], True, span)]
    if there is not None:
        tests.append(scenario(alert, late, healthy + build(there, slo, span, False), False, span))
    return tests


CASES = [(example, env_name) for example in EXAMPLES
         for env_name in (e.name for e in example_spec(example).deploy.environments)]


@pytest.mark.parametrize(("example", "env_name"), CASES, ids=[f"{e}-{n}" for e, n in CASES])
def test_every_alert_fires_after_its_for_and_only_on_a_breach_of_its_environment(example: str, env_name: str) -> None:
    spec = example_spec(example)
    env = spec.environment(env_name)
    manifest = rendered_rules(example, spec, env)
    [group] = manifest["spec"]["groups"]
    alerts = {rule["alert"]: rule for rule in group["rules"]}
    queries = slo_queries(spec, env)
    assert sorted(alerts) == sorted(q.alert_name for q in queries), "one alert per SLO"
    other = next((e for e in spec.deploy.environments if e.namespace != env.namespace), None)
    tests = [t for q in queries for t in scenarios(example, spec, env, other, q.slo, alerts[q.alert_name])]
    test_rules([rule_file_from_prometheusrule(manifest)], {"tests": tests})


def test_the_custom_data_covers_exactly_the_examples_custom_slos() -> None:
    custom = {(example, slo.name) for example in EXAMPLES for slo in example_spec(example).monitoring.slos
              if slo.signal == "custom"}
    assert custom == set(slo_data.CUSTOM)
