"""Which deployment strategies each serving runtime can carry out, and the default strategy per
deployment case. One table, read by the rules (to refuse a spec) and by the runtimes."""

from __future__ import annotations

from typing import Any

STRATEGIES_BY_RUNTIME: dict[str, frozenset[str]] = {
    # Knative splits traffic between revisions (canaryTrafficPercent); a 0 % revision with tag
    # routing is a blue-green preview. Knative cannot mirror traffic.
    "kserve-serverless": frozenset({"rolling", "canary", "blueGreen"}),
    # plain Deployments: canaryTrafficPercent is ignored, an Argo Rollout (workloadRef) runs the
    # canary with replica weights; KServe owns the Service, so no preview Service for blue-green.
    "kserve-raw": frozenset({"rolling", "canary"}),
    # SeldonDeployment predictors carry traffic weights and a shadow flag; no preview endpoint.
    "seldon": frozenset({"rolling", "canary", "shadow"}),
    # an Argo Rollout with its own Services: canary and blue-green; mirroring needs a mesh.
    "bentoml": frozenset({"rolling", "canary", "blueGreen"}),
}
NEEDS_ANALYSIS = frozenset({"canary", "shadow", "blueGreen"})
RUNTIME_HINT = {
    "shadow": "shadow deployments need serving.runtime: seldon (traffic mirroring)",
    "blueGreen": "blue-green needs serving.runtime: bentoml, or kserve in serverless mode",
    "canary": "every runtime supports canary",
}


def runtime_key(serving: dict[str, Any]) -> str:
    runtime = serving.get("runtime", "kserve")
    return f"kserve-{serving.get('deploymentMode', 'serverless')}" if runtime == "kserve" else str(runtime)


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
