"""Rules a JSON Schema cannot express, checked on the schema-valid raw spec."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from generator.errors import Problem, SpecError
from generator.loader import LoadedSpec, PathKey
from generator.strategies import NEEDS_ANALYSIS, RUNTIME_HINT, STRATEGIES_BY_RUNTIME, effective_strategy, runtime_key
from generator.validation import problem_at


def check_rules(spec: LoadedSpec) -> None:
    problems = [*_environments(spec), *_serving(spec), *_autoscaling(spec), *_slos(spec), *_training(spec)]
    if problems:
        raise SpecError(problems=problems)


def _environments(spec: LoadedSpec) -> Iterator[Problem]:
    envs: list[dict[str, Any]] = spec.data["deploy"]["environments"]
    has_slos = bool(spec.data.get("monitoring", {}).get("slos"))
    runtime = runtime_key(spec.data["serving"])
    case = spec.data["deploy"].get("case", "new-capability")
    seen: dict[str, int] = {}
    for i, env in enumerate(envs):
        base = ("deploy", "environments", i)
        if env["name"] in seen:
            yield problem_at(spec, (*base, "name"), f"environment '{env['name']}' is listed twice "
                             f"(first as deploy.environments[{seen[env['name']]}])",
                             "environment names must be unique", "unique-environment")
        seen.setdefault(env["name"], i)
        production = env.get("production", i == len(envs) - 1)
        strategy = effective_strategy(env, case, production, has_slos, runtime)
        kind = strategy["type"]
        where = (*base, "strategy", "type") if "strategy" in env else ("deploy", "case")
        if kind not in STRATEGIES_BY_RUNTIME[runtime]:
            yield problem_at(spec, where, f"the {runtime} runtime cannot run a {kind} deployment",
                             RUNTIME_HINT[kind], "strategy-runtime")
        if kind in NEEDS_ANALYSIS and not has_slos:
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
        yield from _steps(spec, base, steps or [])


def _steps(spec: LoadedSpec, base: PathKey, steps: list[dict[str, Any]]) -> Iterator[Problem]:
    for j, step in enumerate(steps):
        where = (*base, "strategy", "steps", j)
        if j and step["weight"] <= steps[j - 1]["weight"]:
            yield problem_at(spec, (*where, "weight"),
                             f"weight {step['weight']} does not increase on the previous step's "
                             f"{steps[j - 1]['weight']}", "canary weights must increase step by step",
                             "canary-weights")
        last = j == len(steps) - 1
        if last and step["weight"] != 100:
            yield problem_at(spec, (*where, "weight"), f"the last step sends {step['weight']}% of traffic; "
                             "it must send 100", "end the steps with - weight: 100", "canary-last-step")
        if last and "pause" in step:
            yield problem_at(spec, (*where, "pause"), "the last step has nothing to wait for",
                             "delete its pause", "canary-last-pause", key=True)
        if not last and "pause" not in step:
            yield problem_at(spec, where, "this step needs a pause to observe the canary",
                             "add pause: 10m (or another duration)", "canary-pause")


def _serving(spec: LoadedSpec) -> Iterator[Problem]:
    serving = spec.data["serving"]
    runtime = runtime_key(serving)
    if "deploymentMode" in serving and serving.get("runtime", "kserve") != "kserve":
        yield problem_at(spec, ("serving", "deploymentMode"), "deploymentMode is a KServe setting",
                         "delete it, or set serving.runtime: kserve", "mode-without-kserve", key=True)
    if serving.get("autoscaling", {}).get("minReplicas", 1) == 0 and runtime != "kserve-serverless":
        yield problem_at(spec, ("serving", "autoscaling", "minReplicas"),
                         f"scale to zero needs KServe in serverless mode, not {runtime}",
                         "set minReplicas: 1, or serving.runtime: kserve with deploymentMode: serverless",
                         "scale-to-zero")


def _autoscaling(spec: LoadedSpec) -> Iterator[Problem]:
    scaling = spec.data["serving"].get("autoscaling", {})
    low, high = scaling.get("minReplicas", 1), scaling.get("maxReplicas", 3)
    if low > high:
        yield problem_at(spec, ("serving", "autoscaling", "minReplicas"),
                         f"minReplicas {low} is above maxReplicas {high}", "raise maxReplicas or lower minReplicas",
                         "replica-bounds")
    for i, env in enumerate(spec.data["deploy"]["environments"]):
        if "replicas" in env and env["replicas"] > high:
            yield problem_at(spec, ("deploy", "environments", i, "replicas"),
                             f"replicas {env['replicas']} is above serving.autoscaling.maxReplicas {high}",
                             "raise serving.autoscaling.maxReplicas", "replica-bounds")


def _slos(spec: LoadedSpec) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, slo in enumerate(spec.data.get("monitoring", {}).get("slos", [])):
        name = slo_name(slo)
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


CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
CRON_NAMES = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
              "nov": 11, "dec": 12, "sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def cron_problem(expression: str) -> str:
    """Why a five-field cron expression is wrong, or "" when every field is in range."""
    for text, (field, low, high) in zip(expression.split(), CRON_FIELDS, strict=True):
        for part in text.split(","):
            value, _, step = part.partition("/")
            if step and not (step.isdigit() and int(step) > 0):
                return f"the {field} field has step '{step}'; a step is a positive number"
            if value == "*":
                continue
            for bound in value.split("-", 1):
                number = CRON_NAMES.get(bound.lower()) if not bound.isdigit() else int(bound)
                if number is None or not low <= number <= high:
                    return f"the {field} field has '{bound}'; it takes {low}-{high}"
    return ""


def _training(spec: LoadedSpec) -> Iterator[Problem]:
    training = spec.data.get("training")
    if training is None:
        return
    targets = spec.data["ci"]["targets"]
    orchestrator = training.get("orchestrator", targets[0])
    if orchestrator != "airflow" and orchestrator not in targets:
        yield problem_at(spec, ("training", "orchestrator"), f"{orchestrator} is not one of ci.targets {targets}",
                         f"add {orchestrator} to ci.targets, or set training.orchestrator to one of them",
                         "orchestrator-target")
    if orchestrator == "airflow" and "image" not in training:
        yield problem_at(spec, ("training",), "the Airflow DAG runs each step in a pod, which needs an image "
                         "holding the repository's code", "add training.image, e.g. your training image with a "
                         "pinned tag", "airflow-image")
    if orchestrator != "airflow" and "airflow" in training:
        yield problem_at(spec, ("training", "airflow"), f"Airflow settings, but the orchestrator is {orchestrator}",
                         "delete training.airflow, or set training.orchestrator: airflow", "airflow-settings", key=True)
    triggers = training["triggers"]
    if "airflowDataset" in triggers.get("data", {}) and orchestrator != "airflow":
        yield problem_at(spec, ("training", "triggers", "data", "airflowDataset"),
                         f"an Airflow Dataset cannot start a {orchestrator} pipeline",
                         "use objectStore or kafka, or set training.orchestrator: airflow", "dataset-airflow", key=True)
    schedule = triggers.get("schedule")
    if schedule is not None:
        why = cron_problem(schedule.replace("H", "0")) if orchestrator == "jenkins" else cron_problem(schedule)
        if why and orchestrator != "jenkins" and "H" in schedule:
            why = f"'H' (a hashed value) is Jenkins syntax; {orchestrator} takes plain numbers"
        if why:
            yield problem_at(spec, ("training", "triggers", "schedule"), f"cron '{schedule}': {why}",
                             "five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * 1'", "cron")
    slos = [slo_name(slo) for slo in spec.data.get("monitoring", {}).get("slos", [])]
    for i, alert in enumerate(triggers.get("alerts", [])):
        if alert not in slos:
            close = difflib.get_close_matches(alert, slos, 1)
            yield problem_at(spec, ("training", "triggers", "alerts", i), f"no SLO is named '{alert}'",
                             f"did you mean '{close[0]}'?" if close else
                             f"name one of monitoring.slos: {', '.join(slos) or '(none defined)'}", "alert-slo")
    for column, check in training["dataChecks"].get("columns", {}).items():
        where = ("training", "dataChecks", "columns", column)
        if "min" in check and "max" in check and check["min"] > check["max"]:
            yield problem_at(spec, (*where, "min"), f"min {check['min']:g} is above max {check['max']:g}",
                             "swap them", "column-bounds")
        if check["type"] in ("string", "boolean") and ("min" in check or "max" in check):
            yield problem_at(spec, where, f"min/max apply to numbers, not to a {check['type']} column",
                             "use allowed for the values a string may take", "column-bounds")
        if check["type"] != "string" and "allowed" in check:
            yield problem_at(spec, (*where, "allowed"), f"allowed applies to string columns, not {check['type']}",
                             "use min and max", "column-allowed", key=True)
    for metric, bounds in training["evaluation"]["thresholds"].items():
        if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            yield problem_at(spec, ("training", "evaluation", "thresholds", metric, "min"),
                             f"min {bounds['min']:g} is above max {bounds['max']:g}", "swap them", "threshold-bounds")
