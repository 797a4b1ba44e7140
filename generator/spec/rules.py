"""Rules a JSON Schema cannot express, checked on the raw spec.

They run in the same pass as the schema, on a spec whose schema-rejected values are blanked
(validation.UNREADABLE), and must never crash on malformed input: each rule guards the types it
reads and skips what it cannot read. An absent optional field takes its default; a present but
unreadable one makes the rules that depend on it stand aside.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from generator.errors import Problem
from generator.spec.loader import LoadedSpec, PathKey
from generator.spec.strategies import (
    NEEDS_ANALYSIS,
    RUNTIME_HINT,
    STRATEGIES_BY_RUNTIME,
    effective_strategy,
    runtime_key,
)
from generator.spec.validation import problem_at

KNOWN_STRATEGIES: frozenset[str] = frozenset().union(*STRATEGIES_BY_RUNTIME.values())


def rule_problems(spec: LoadedSpec) -> list[Problem]:
    return [*_environments(spec), *_serving(spec), *_autoscaling(spec), *_slos(spec), *_training(spec)]


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _runtime(serving: Any) -> str | None:
    """The serving runtime's key in STRATEGIES_BY_RUNTIME, or None when it cannot be read."""
    if not isinstance(serving, dict):
        return None
    key = runtime_key(serving)
    return key if key in STRATEGIES_BY_RUNTIME else None


def _slo_list(spec: LoadedSpec) -> list[Any] | None:
    """monitoring.slos ([] when absent), or None when it cannot be read."""
    monitoring = spec.data.get("monitoring", {})
    slos = monitoring.get("slos", []) if isinstance(monitoring, dict) else None
    return slos if isinstance(slos, list) else None


def _strategy(env: dict[str, Any], production: Any, case: Any, has_slos: bool | None,
              runtime: str | None) -> dict[str, Any] | None:
    """The environment's strategy, or None when it, or what its default depends on, cannot be read."""
    if "strategy" in env:
        return env["strategy"] if isinstance(env["strategy"], dict) else None
    if runtime is None or has_slos is None or not isinstance(case, str) or not isinstance(production, bool):
        return None
    return effective_strategy(env, case, production, has_slos, runtime)


def _environments(spec: LoadedSpec) -> Iterator[Problem]:
    deploy = _mapping(spec.data.get("deploy"))
    envs = _items(deploy.get("environments"))
    slos = _slo_list(spec)
    has_slos = None if slos is None else bool(slos)
    runtime = _runtime(spec.data.get("serving"))
    case = deploy.get("case", "new-capability")
    seen: dict[str, int] = {}
    for i, env in enumerate(envs):
        if not isinstance(env, dict):
            continue
        base = ("deploy", "environments", i)
        name = env.get("name")
        if isinstance(name, str) and name in seen:
            yield problem_at(spec, (*base, "name"), f"environment '{name}' is listed twice "
                             f"(first as deploy.environments[{seen[name]}])",
                             "environment names must be unique", "unique-environment")
        if isinstance(name, str):
            seen.setdefault(name, i)
        strategy = _strategy(env, env.get("production", i == len(envs) - 1), case, has_slos, runtime)
        kind = strategy.get("type") if strategy is not None else None
        if strategy is None or not isinstance(kind, str) or kind not in KNOWN_STRATEGIES:
            continue
        where = (*base, "strategy", "type") if "strategy" in env else ("deploy", "case")
        if runtime is not None and kind not in STRATEGIES_BY_RUNTIME[runtime]:
            yield problem_at(spec, where, f"the {runtime} runtime cannot run a {kind} deployment",
                             RUNTIME_HINT[kind], "strategy-runtime")
        if kind in NEEDS_ANALYSIS and has_slos is False:
            yield problem_at(spec, where, f"a {kind} deployment needs at least one SLO to analyse",
                             "add monitoring.slos, e.g. - {signal: errorRate, threshold: 0.01}", "needs-slo")
        if "duration" in strategy and kind not in ("shadow", "blueGreen"):
            yield problem_at(spec, (*base, "strategy", "duration"), "duration is only used by shadow and blueGreen",
                             "delete it (canary steps have their own pauses)", "duration-without-preview", key=True)
        steps = strategy.get("steps")
        if kind != "canary":
            if steps is not None:
                yield problem_at(spec, (*base, "strategy", "steps"), "steps are only used by the canary strategy",
                                 "set strategy.type: canary, or delete steps", "steps-without-canary", key=True)
            continue
        yield from _steps(spec, base, _items(steps))


def _steps(spec: LoadedSpec, base: PathKey, steps: list[Any]) -> Iterator[Problem]:
    if len(steps) == 1 and isinstance(steps[0], dict) and steps[0].get("weight") == 100:
        yield problem_at(spec, (*base, "strategy", "steps"), "a canary whose only step sends 100% of traffic "
                         "has nothing to observe before the full rollout",
                         "add a partial step first, such as - {weight: 10, pause: 10m}, or use type: rolling",
                         "canary-partial-step")
    for j, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        where = (*base, "strategy", "steps", j)
        weight: Any = step.get("weight")
        previous: Any = steps[j - 1].get("weight") if j and isinstance(steps[j - 1], dict) else None
        if _number(weight) and _number(previous) and weight <= previous:
            yield problem_at(spec, (*where, "weight"),
                             f"weight {weight} does not increase on the previous step's "
                             f"{previous}", "canary weights must increase step by step",
                             "canary-weights")
        last = j == len(steps) - 1
        if last and _number(weight) and weight != 100:
            yield problem_at(spec, (*where, "weight"), f"the last step sends {weight}% of traffic; "
                             "it must send 100", "end the steps with - weight: 100", "canary-last-step")
        if last and "pause" in step:
            yield problem_at(spec, (*where, "pause"), "the last step has nothing to wait for",
                             "delete its pause", "canary-last-pause", key=True)
        if not last and "pause" not in step:
            yield problem_at(spec, where, "this step needs a pause to observe the canary",
                             "add pause: 10m (or another duration)", "canary-pause")


def _serving(spec: LoadedSpec) -> Iterator[Problem]:
    serving = spec.data.get("serving")
    if not isinstance(serving, dict):
        return
    runtime = _runtime(serving)
    named = serving.get("runtime", "kserve")
    if "deploymentMode" in serving and isinstance(named, str) and named != "kserve":
        yield problem_at(spec, ("serving", "deploymentMode"), "deploymentMode is a KServe setting",
                         "delete it, or set serving.runtime: kserve", "mode-without-kserve", key=True)
    low = _mapping(serving.get("autoscaling")).get("minReplicas", 1)
    if _number(low) and low == 0 and runtime is not None and runtime != "kserve-serverless":
        yield problem_at(spec, ("serving", "autoscaling", "minReplicas"),
                         f"scale to zero needs KServe in serverless mode, not {runtime}",
                         "set minReplicas: 1, or serving.runtime: kserve with deploymentMode: serverless",
                         "scale-to-zero")


def _autoscaling(spec: LoadedSpec) -> Iterator[Problem]:
    serving = spec.data.get("serving")
    scaling = serving.get("autoscaling", {}) if isinstance(serving, dict) else None
    if not isinstance(scaling, dict):
        return
    low, high = scaling.get("minReplicas", 1), scaling.get("maxReplicas", 3)
    if _number(low) and _number(high) and low > high:
        yield problem_at(spec, ("serving", "autoscaling", "minReplicas"),
                         f"minReplicas {low} is above maxReplicas {high}", "raise maxReplicas or lower minReplicas",
                         "replica-bounds")
    if not _number(high):
        return
    for i, env in enumerate(_items(_mapping(spec.data.get("deploy")).get("environments"))):
        if isinstance(env, dict) and _number(env.get("replicas")) and env["replicas"] > high:
            yield problem_at(spec, ("deploy", "environments", i, "replicas"),
                             f"replicas {env['replicas']} is above serving.autoscaling.maxReplicas {high}",
                             "raise serving.autoscaling.maxReplicas", "replica-bounds")


def _slos(spec: LoadedSpec) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, slo in enumerate(_slo_list(spec) or []):
        name = _readable_slo_name(slo)
        if name is None:
            continue
        if name in seen:
            yield problem_at(spec, ("monitoring", "slos", i), f"two SLOs are named '{name}'",
                             "give one of them a distinct name field", "unique-slo")
        seen.add(name)


def slo_name(slo: dict[str, Any]) -> str:
    if "name" in slo:
        return str(slo["name"])
    if slo["signal"] == "latency":
        return f"p{slo['percentile']:g}-latency".replace(".", "-")
    return re.sub(r"(?<!^)([A-Z])", r"-\1", str(slo["signal"])).lower()  # errorRate -> error-rate


def _readable_slo_name(slo: Any) -> str | None:
    """slo_name for an SLO that may be malformed; None when its name cannot be told."""
    if not isinstance(slo, dict):
        return None
    if "name" in slo:
        return slo["name"] if isinstance(slo["name"], str) else None
    if not isinstance(slo.get("signal"), str) or (slo["signal"] == "latency" and not _number(slo.get("percentile"))):
        return None
    return slo_name(slo)


CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
CRON_NAMES = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
              "nov": 11, "dec": 12, "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def cron_problem(expression: str) -> str:
    """Why a five-field cron expression is wrong, or "" when every field is in range."""
    for text, (field, low, high) in zip(expression.split(), CRON_FIELDS, strict=True):
        for part in text.split(","):
            value, _, step = part.partition("/")
            if step and not (step.isascii() and step.isdigit() and int(step) > 0):
                return f"the {field} field has step '{step}'; a step is a positive number"
            if value == "*":
                continue
            for bound in value.split("-", 1):
                number = int(bound) if bound.isascii() and bound.isdigit() else CRON_NAMES.get(bound.lower())
                if number is None or not low <= number <= high:
                    return f"the {field} field has '{bound}'; it takes {low}-{high}"
    return ""


def _training(spec: LoadedSpec) -> Iterator[Problem]:
    training = spec.data.get("training")
    if not isinstance(training, dict):
        return
    targets = _mapping(spec.data.get("ci")).get("targets")
    if not (isinstance(targets, list) and targets and all(isinstance(t, str) for t in targets)):
        targets = None
    orchestrator = training.get("orchestrator", targets[0] if targets else None)
    if not isinstance(orchestrator, str):
        orchestrator = None  # unreadable: the rules that depend on it stand aside
    if orchestrator not in (None, "airflow") and targets is not None and orchestrator not in targets:
        yield problem_at(spec, ("training", "orchestrator"), f"{orchestrator} is not one of ci.targets {targets}",
                         f"add {orchestrator} to ci.targets, or set training.orchestrator to one of them",
                         "orchestrator-target")
    if orchestrator == "airflow" and "image" not in training:
        yield problem_at(spec, ("training",), "the Airflow DAG runs each step in a pod, which needs an image "
                         "holding the repository's code", "add training.image, e.g. your training image with a "
                         "pinned tag", "airflow-image")
    if orchestrator not in (None, "airflow") and "airflow" in training:
        yield problem_at(spec, ("training", "airflow"), f"Airflow settings, but the orchestrator is {orchestrator}",
                         "delete training.airflow, or set training.orchestrator: airflow", "airflow-settings", key=True)
    triggers = _mapping(training.get("triggers"))
    if "airflowDataset" in _mapping(triggers.get("data")) and orchestrator not in (None, "airflow"):
        yield problem_at(spec, ("training", "triggers", "data", "airflowDataset"),
                         f"an Airflow Dataset cannot start a {orchestrator} pipeline",
                         "use objectStore or kafka, or set training.orchestrator: airflow", "dataset-airflow", key=True)
    yield from _schedule(spec, triggers.get("schedule"), orchestrator)
    yield from _alerts(spec, _items(triggers.get("alerts")))
    yield from _columns(spec, _mapping(_mapping(training.get("dataChecks")).get("columns")))
    for metric, bounds in _mapping(_mapping(training.get("evaluation")).get("thresholds")).items():
        if isinstance(bounds, dict) and _number(bounds.get("min")) and _number(bounds.get("max")) \
                and bounds["min"] > bounds["max"]:
            yield problem_at(spec, ("training", "evaluation", "thresholds", metric, "min"),
                             f"min {bounds['min']:g} is above max {bounds['max']:g}", "swap them", "threshold-bounds")


def _schedule(spec: LoadedSpec, schedule: Any, orchestrator: str | None) -> Iterator[Problem]:
    if not isinstance(schedule, str) or len(schedule.split()) != len(CRON_FIELDS):
        return  # not five fields: the schema's pattern says so
    if orchestrator in ("jenkins", None):  # an unknown orchestrator: only what no orchestrator takes
        why = cron_problem(schedule.replace("H", "0"))
    else:
        why = cron_problem(schedule)
        if why and "H" in schedule:
            why = f"'H' (a hashed value) is Jenkins syntax; {orchestrator} takes plain numbers"
    if why:
        yield problem_at(spec, ("training", "triggers", "schedule"), f"cron '{schedule}': {why}",
                         "five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * 1'", "cron")


def _alerts(spec: LoadedSpec, alerts: list[Any]) -> Iterator[Problem]:
    listed = _slo_list(spec)
    names = [_readable_slo_name(slo) for slo in listed] if listed is not None else [None]
    slos = [name for name in names if name is not None]
    if len(slos) != len(names):
        return  # an SLO that cannot be read may be the one an alert names
    for i, alert in enumerate(alerts):
        if isinstance(alert, str) and alert not in slos:
            close = difflib.get_close_matches(alert, slos, 1)
            yield problem_at(spec, ("training", "triggers", "alerts", i), f"no SLO is named '{alert}'",
                             f"did you mean '{close[0]}'?" if close else
                             f"name one of monitoring.slos: {', '.join(slos) or '(none defined)'}", "alert-slo")


def _columns(spec: LoadedSpec, columns: dict[Any, Any]) -> Iterator[Problem]:
    for column, check in columns.items():
        if not isinstance(check, dict):
            continue
        where = ("training", "dataChecks", "columns", column)
        if _number(check.get("min")) and _number(check.get("max")) and check["min"] > check["max"]:
            yield problem_at(spec, (*where, "min"), f"min {check['min']:g} is above max {check['max']:g}",
                             "swap them", "column-bounds")
        kind = check.get("type")
        if not isinstance(kind, str):
            continue
        if kind in ("string", "boolean") and ("min" in check or "max" in check):
            yield problem_at(spec, where, f"min/max apply to numbers, not to a {kind} column",
                             "use allowed for the values a string may take", "column-bounds")
        if kind != "string" and "allowed" in check:
            yield problem_at(spec, (*where, "allowed"), f"allowed applies to string columns, not {kind}",
                             "use min and max", "column-allowed", key=True)
