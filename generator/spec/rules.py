"""Rules a JSON Schema cannot express, checked on the typed model (generator/model.py).

Rules the schema can state (steps only with canary, duration only with shadow and blueGreen,
Airflow settings only with the airflow orchestrator, ...) are if/then in schemas/mlops.schema.json,
so editors flag them too. What is left compares values (weights, bounds, names), reads the
runtime registry through generator/spec/strategies.py, or is a runtime's own rule (its `problems`).

The rules run in the same pass as the schema. On a spec the schema rejected, they read a model
normalised from stand-ins for the rejected values (validation.Readable); the Locator says which
paths those are, and a rule that reads one, or a default derived from one, stands aside.
Positions come from the loader's index through the Locator.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from generator.errors import Problem
from generator.model import SLO, Environment, Spec, Training, version_text
from generator.runtimes import EXPORTERS, able, labels, modes, runtime_named
from generator.spec.loader import Locator, PathKey
from generator.spec.normalise import PRODUCTION_REPLICAS
from generator.spec.slo_rules import slo_problems
from generator.spec.strategies import NEEDS_ANALYSIS, RUNTIME_HINT, STRATEGIES_BY_RUNTIME

SLOS: PathKey = ("monitoring", "slos")


def rule_problems(spec: Spec, where: Locator) -> list[Problem]:
    return [*_environments(spec, where), *_serving(spec, where), *_autoscaling(spec, where),
            *_slos(spec, where), *_training(spec, where), *_platform(spec, where)]


def _runtime(spec: Spec, where: Locator) -> str | None:
    """The serving runtime's key in STRATEGIES_BY_RUNTIME, or None when it cannot be read."""
    mode_read = not modes(spec.serving.runtime) or where.readable(("serving", "deploymentMode"))
    key = spec.serving.runtime_key
    return key if where.readable(("serving", "runtime")) and mode_read and key in STRATEGIES_BY_RUNTIME else None


def _strategy_known(where: Locator, base: PathKey, runtime: str | None) -> bool:
    """Whether the environment's strategy can be told: as written, or the default derived from the
    deployment case, the production flag, the SLOs and the runtime."""
    if where.present((*base, "strategy")):
        return where.readable((*base, "strategy", "type"))
    return runtime is not None and where.readable(("deploy", "case"), (*base, "production"), SLOS)


def _environments(spec: Spec, where: Locator) -> Iterator[Problem]:
    runtime = _runtime(spec, where)
    seen: dict[str, int] = {}
    for i, env in enumerate(spec.deploy.environments):
        base = ("deploy", "environments", i)
        if not where.readable(base):
            continue
        if where.readable((*base, "name")):
            if env.name in seen:
                yield where.problem((*base, "name"), f"environment '{env.name}' is listed twice "
                                    f"(first as deploy.environments[{seen[env.name]}])",
                                    "environment names must be unique", "unique-environment")
            seen.setdefault(env.name, i)
        if not _strategy_known(where, base, runtime):
            continue
        kind = env.strategy
        at = (*base, "strategy", "type") if where.present((*base, "strategy")) else ("deploy", "case")
        if runtime is not None and kind not in STRATEGIES_BY_RUNTIME[runtime]:
            yield where.problem(at, f"the {runtime} runtime cannot run a {kind} deployment",
                                RUNTIME_HINT[kind], "strategy-runtime")
        if kind in NEEDS_ANALYSIS and where.readable(SLOS) and not spec.monitoring.slos:
            yield where.problem(at, f"a {kind} deployment needs at least one SLO to analyse",
                                "add monitoring.slos, e.g. - {signal: errorRate, threshold: 0.01}", "needs-slo")
        if kind == "canary" and where.readable((*base, "strategy", "steps")):
            yield from _steps(where, (*base, "strategy", "steps"), env)


def _steps(where: Locator, at: PathKey, env: Environment) -> Iterator[Problem]:
    steps = env.steps

    def weight_read(j: int) -> bool:
        return where.readable((*at, j, "weight"))

    if len(steps) == 1 and weight_read(0) and steps[0].weight == 100:
        yield where.problem(at, "a canary whose only step sends 100% of traffic has nothing to observe before "
                            "the full rollout",
                            "add a partial step first, such as - {weight: 10, pause: 10m}, or use type: rolling",
                            "canary-partial-step")
    for j, step in enumerate(steps):
        if not where.readable((*at, j)):
            continue
        if j and weight_read(j) and weight_read(j - 1) and step.weight <= steps[j - 1].weight:
            yield where.problem((*at, j, "weight"), f"weight {step.weight} does not increase on the previous "
                                f"step's {steps[j - 1].weight}", "canary weights must increase step by step",
                                "canary-weights")
        last = j == len(steps) - 1
        if last and weight_read(j) and step.weight != 100:
            yield where.problem((*at, j, "weight"), f"the last step sends {step.weight}% of traffic; "
                                "it must send 100", "end the steps with - weight: 100", "canary-last-step")
        if last and step.pause is not None:
            yield where.problem((*at, j, "pause"), "the last step has nothing to wait for", "delete its pause",
                                "canary-last-pause", key=True)
        if not last and step.pause is None:
            yield where.problem((*at, j), "this step needs a pause to observe the canary",
                                "add pause: 10m (or another duration)", "canary-pause")


def _serving(spec: Spec, where: Locator) -> Iterator[Problem]:
    runtime = _runtime(spec, where)
    if runtime is not None:  # the runtime's own rules (generator/runtimes/), on what the schema accepted
        for found in runtime_named(runtime).problems(spec):
            if where.readable(found.path):
                yield where.problem(found.path, found.message, found.hint, found.code, key=found.key)
    low = ("serving", "autoscaling", "minReplicas")
    if runtime is not None and not runtime_named(runtime).capabilities.scale_to_zero and where.readable(low) \
            and spec.serving.autoscaling.min_replicas == 0:
        able_to = able("scale_to_zero")
        yield where.problem(low, f"scale to zero needs {labels(able_to)}, not {runtime}",
                            "set minReplicas: 1, or " + ", or ".join(r.selection for r in able_to), "scale-to-zero")


def _autoscaling(spec: Spec, where: Locator) -> Iterator[Problem]:
    scaling = spec.serving.autoscaling
    low, high = ("serving", "autoscaling", "minReplicas"), ("serving", "autoscaling", "maxReplicas")
    if where.readable(low, high) and scaling.min_replicas > scaling.max_replicas:
        yield where.problem(low, f"minReplicas {scaling.min_replicas} is above maxReplicas {scaling.max_replicas}",
                            "raise maxReplicas or lower minReplicas", "replica-bounds")
    if not where.readable(high):
        return
    for i, env in enumerate(spec.deploy.environments):
        replicas = ("deploy", "environments", i, "replicas")
        if where.present(replicas) and where.readable(replicas) and env.replicas > scaling.max_replicas:
            yield where.problem(replicas, f"replicas {env.replicas} is above serving.autoscaling.maxReplicas "
                                f"{scaling.max_replicas}", "raise serving.autoscaling.maxReplicas", "replica-bounds")


def rule_warnings(spec: Spec, where: Locator) -> list[Problem]:
    """Problems of a valid spec that do not stop it: printed as warnings by validate and render."""
    return list(_production_replicas(spec, where))


def _production_replicas(spec: Spec, where: Locator) -> Iterator[Problem]:
    for i, env in enumerate(spec.deploy.environments):
        if not env.production or env.replicas >= PRODUCTION_REPLICAS:
            continue
        at: PathKey = ("deploy", "environments", i, "replicas")
        why = "as written here"
        if not where.present(at):
            at, why = ("serving", "autoscaling", "maxReplicas"), "as maxReplicas allows"
        yield where.problem(at, f"production environment '{env.name}' runs {env.replicas} replica(s) {why}: a node "
                            "drain or a lost node stops the model",
                            f"keep at least {PRODUCTION_REPLICAS} replicas in production (the default)",
                            "production-replicas")


MIN_KUBERNETES = (1, 23)  # autoscaling/v2 HorizontalPodAutoscaler and policy/v1 PodDisruptionBudget are GA


def _platform(spec: Spec, where: Locator) -> Iterator[Problem]:
    at = ("platform", "kubernetes")
    if where.readable(at) and spec.platform.version("kubernetes") < MIN_KUBERNETES:
        yield where.problem(at, f"Kubernetes {version_text(spec.platform.version('kubernetes'))} lacks autoscaling/v2 "
                            "HorizontalPodAutoscalers and policy/v1 PodDisruptionBudgets (GA in 1.23)",
                            "set platform.kubernetes to the version your clusters run (1.23 or later)",
                            "platform-version")


def _slo_name_read(where: Locator, i: int) -> bool:
    """Whether SLO i's name can be told: written, or derived from a readable signal (and percentile)."""
    at = (*SLOS, i)
    if where.present((*at, "name")):
        return where.readable((*at, "name"))
    return where.readable((*at, "signal"), (*at, "percentile"))


def _slos(spec: Spec, where: Locator) -> Iterator[Problem]:
    seen: set[str] = set()
    for i, slo in enumerate(spec.monitoring.slos):
        if not _slo_name_read(where, i):
            continue
        if slo.name in seen:
            yield where.problem((*SLOS, i), f"two SLOs are named '{slo.name}'",
                                "give one of them a distinct name field", "unique-slo")
        seen.add(slo.name)
    yield from slo_problems(spec.monitoring.slos, EXPORTERS[spec.monitoring.exporter], where)


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


def _training(spec: Spec, where: Locator) -> Iterator[Problem]:
    training = spec.training
    if training is None or not where.readable(("training",)):
        return
    targets_read = where.readable(("ci", "targets"))
    chosen = ("training", "orchestrator")
    orchestrator: str | None = training.orchestrator
    if not where.readable(chosen) or not (where.present(chosen) or targets_read):
        orchestrator = None  # unreadable: the rules that depend on it stand aside
    if orchestrator not in (None, "airflow") and targets_read and orchestrator not in spec.ci.targets:
        yield where.problem(chosen, f"{orchestrator} is not one of ci.targets {list(spec.ci.targets)}",
                            f"add {orchestrator} to ci.targets, or set training.orchestrator to one of them",
                            "orchestrator-target")
    yield from _schedule(where, training.triggers.schedule, orchestrator)
    yield from _alerts(spec.monitoring.slos, where, training.triggers.alerts)
    yield from _bounds(where, training)


def _schedule(where: Locator, schedule: str, orchestrator: str | None) -> Iterator[Problem]:
    at = ("training", "triggers", "schedule")
    if not schedule or not where.readable(at) or len(schedule.split()) != len(CRON_FIELDS):
        return  # not five fields: the schema's pattern says so
    if orchestrator in ("jenkins", None):  # an unknown orchestrator: only what no orchestrator takes
        why = cron_problem(schedule.replace("H", "0"))
    else:
        why = cron_problem(schedule)
        if why and "H" in schedule:
            why = f"'H' (a hashed value) is Jenkins syntax; {orchestrator} takes plain numbers"
    if why:
        yield where.problem(at, f"cron '{schedule}': {why}",
                            "five fields: minute hour day-of-month month day-of-week, e.g. '0 3 * * 1'", "cron")


def _alerts(slos: tuple[SLO, ...], where: Locator, alerts: tuple[str, ...]) -> Iterator[Problem]:
    if not where.readable(SLOS) or not all(_slo_name_read(where, i) for i in range(len(slos))):
        return  # an SLO that cannot be read may be the one an alert names
    names = [slo.name for slo in slos]
    for i, alert in enumerate(alerts):
        if where.readable(("training", "triggers", "alerts", i)) and alert not in names:
            close = difflib.get_close_matches(alert, names, 1)
            yield where.problem(("training", "triggers", "alerts", i), f"no SLO is named '{alert}'",
                                f"did you mean '{close[0]}'?" if close else
                                f"name one of monitoring.slos: {', '.join(names) or '(none defined)'}", "alert-slo")


def _bounds(where: Locator, training: Training) -> Iterator[Problem]:
    """min above max, in a column check or an evaluation threshold."""
    pairs = [(("training", "dataChecks", "columns", c.name), c.minimum, c.maximum, "column-bounds")
             for c in training.data_checks.columns]
    pairs += [(("training", "evaluation", "thresholds", t.metric), t.minimum, t.maximum, "threshold-bounds")
              for t in training.evaluation.thresholds]
    for at, low, high, rule in pairs:
        if low is not None and high is not None and where.readable((*at, "min"), (*at, "max")) and low > high:
            yield where.problem((*at, "min"), f"min {low:g} is above max {high:g}", "swap them", rule)
