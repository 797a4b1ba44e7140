"""Which deployment strategies each serving runtime can carry out (read from the runtime registry),
and the default strategy per deployment case. Read by the rules (to refuse a spec) and normalise."""

from __future__ import annotations

from typing import Any

from generator.runtimes import REGISTRY, key_of, labels, supporting

STRATEGIES_BY_RUNTIME: dict[str, frozenset[str]] = {runtime.key: runtime.capabilities.strategies
                                                    for runtime in REGISTRY}
NEEDS_ANALYSIS = frozenset({"canary", "shadow", "blueGreen"})
_NEEDS = {"shadow": ("shadow deployments need", " (traffic mirroring)"), "blueGreen": ("blue-green needs", ""),
          "canary": ("canary needs", "")}


def _hint(strategy: str) -> str:
    able = supporting(strategy)
    if len(able) == len(REGISTRY):
        return f"every runtime supports {strategy}"
    needs, why = _NEEDS[strategy]
    return f"{needs} serving.runtime: {labels(able)}{why}"


RUNTIME_HINT = {strategy: _hint(strategy) for strategy in sorted(NEEDS_ANALYSIS)}


def runtime_key(serving: dict[str, Any]) -> str:
    """The registry key of a raw serving section (the schema's defaults for absent fields)."""
    name = serving.get("runtime", REGISTRY[0].spec_name)
    return key_of(str(name), serving.get("deploymentMode")) or str(name)


def default_strategy(case: str, production: bool, has_slos: bool) -> dict[str, Any]:
    """Below production a new version simply rolls out. In production, a model that replaces a
    person's task or an earlier system is first shadowed on live traffic where the runtime can
    mirror, and canaried where it cannot; a new capability, with nothing to compare against,
    takes a canary. Without SLOs there is nothing to analyse: rolling."""
    if not production or not has_slos:
        return {"type": "rolling"}
    return {"type": "canary"} if case == "new-capability" else {"type": "shadow"}


def effective_strategy(env: dict[str, Any], case: str, production: bool, has_slos: bool,
                       runtime: str) -> dict[str, Any]:
    if "strategy" in env:
        return dict(env["strategy"])
    chosen = default_strategy(case, production, has_slos)
    if chosen["type"] not in STRATEGIES_BY_RUNTIME[runtime]:
        chosen = {"type": "canary"}  # the case's preference, where this runtime cannot do it
    return chosen
