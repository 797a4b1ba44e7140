"""The spec's defaults, in one place: the schema's `default`s, filled in before normalise reads the spec.

`with_defaults` copies a schema-valid spec and adds every absent property that has a `default` in
schemas/mlops.schema.json, creating an absent optional object (one with no required fields) when
something below it has a default, so `serving.resources.cpu` is there even when `serving.resources`
is not. normalise.py then reads keys instead of repeating the literals.

Some defaults depend on other fields and so cannot be schema defaults. normalise computes them;
the schema's description of each says what it defaults to; DERIVED_DEFAULTS lists them all.
"""

from __future__ import annotations

import copy
from typing import Any

# JSON path (`[]` is every list item, `*` every map value) → what normalise fills in when it is absent.
DERIVED_DEFAULTS: dict[str, str] = {
    "build.entrypoint": "python -m <metadata.name with '-' as '_'>.serve",
    "ci.image": "build.baseImage",
    "ci.mlopsgenPackage": "mlopsgen==<this mlopsgen version>",
    "serving.deploymentMode": "the runtime's first mode, for a runtime with modes only (a schema default the "
                              "if/else limits)",
    "serving.resources.cpuLimit": "serving.resources.cpu",
    "serving.resources.memoryLimit": "serving.resources.memory",
    "deploy.argocd.project": "<metadata.team>-models",
    "deploy.environments[].namespace": "<metadata.name>-<environment name>",
    "deploy.environments[].cluster": "deploy.argocd.server",
    "deploy.environments[].production": "true for the last environment only",
    "deploy.environments[].replicas": "serving.autoscaling.minReplicas; in production at least 2 (at most "
                                      "maxReplicas)",
    "deploy.environments[].strategy": "per deploy.case, production, SLOs and runtime (strategies.effective_strategy)",
    "monitoring.slos[].name": "the signal's name, with the percentile for latency",
    "monitoring.slos[].operator": "below for throughput and inputVolume, above otherwise",
    "monitoring.slos[].noData": "pass for scoreShift, fail otherwise",
    "monitoring.exporter": "the runtime's stock server's if it has one, else mlopsgen (the scaffolded server)",
    "training.orchestrator": "the first of ci.targets",
    "training.image": "ci.image (itself build.baseImage by default)",
    "training.registry.modelName": "metadata.name",
    "training.airflow.namespace": "<metadata.name>-training",
    "training.dataChecks.columns.*.maxMissing": "training.dataChecks.maxMissing",
}


def with_defaults(data: Any, schema: Any) -> Any:
    """A copy of `data` (valid against `schema`) with every applicable schema default filled in."""
    if not isinstance(schema, dict):
        return copy.deepcopy(data)
    if isinstance(data, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        out = {key: with_defaults(value, properties.get(key, extra)) for key, value in data.items()}
        for name, prop in properties.items():
            if name in out or not isinstance(prop, dict):
                continue
            if "default" in prop:
                out[name] = copy.deepcopy(prop["default"])
            elif _fillable(prop):
                out[name] = with_defaults({}, prop)
        return out
    if isinstance(data, list):
        return [with_defaults(item, schema.get("items")) for item in data]
    return data


def schema_default(schema: dict[str, Any], path: str) -> Any:
    """The `default` of the field at a dotted JSON path such as deploy.environments[].strategy.steps,
    for normalise to fill in a value the spec never held (a strategy it chose itself)."""
    node: Any = schema
    for part in path.split("."):
        if part == "*":
            node = node["additionalProperties"]
            continue
        node = node["properties"][part.removesuffix("[]")]
        if part.endswith("[]"):
            node = node["items"]
    return copy.deepcopy(node["default"])


def _fillable(prop: dict[str, Any]) -> bool:
    """An optional object that need not be written to take defaults: no required fields, and some
    default below it. Objects with required fields (payloadLogging, drift, ...) stay absent."""
    if prop.get("type") != "object" or prop.get("required"):
        return False
    return any(isinstance(sub, dict) and ("default" in sub or _fillable(sub))
               for sub in prop.get("properties", {}).values())
