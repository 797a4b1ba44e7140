"""Defaults live in one place, the schema: every `default` in schemas/mlops.schema.json is what the
normalised model holds when the field is omitted, and every default the schema cannot hold (it
depends on other fields) is listed in generator/spec/defaults.py and documented in the schema."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from generator.model import version_text
from generator.spec.defaults import DERIVED_DEFAULTS, schema_default
from generator.spec.intake import spec_problems
from generator.spec.loader import parse_spec
from generator.spec.normalise import normalise

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "schemas/mlops.schema.json").read_text(encoding="utf-8"))

# A valid spec holding every object a defaulted field lives in, and none of the defaulted fields.
BASE: dict[str, Any] = {
    "apiVersion": "mlopsgen/v1",
    "kind": "ModelPipeline",
    "metadata": {"name": "tiny-model", "team": "ds"},
    "model": {"framework": "sklearn", "uri": "s3://models/tiny-model", "version": "1"},
    "build": {"baseImage": "python:3.11.9-slim-bookworm", "registry": {"image": "registry.gitlab.com/acme/tiny"}},
    "serving": {"payloadLogging": {"bootstrapServers": "kafka:9092", "topic": "payloads"}},
    "ci": {"targets": ["gitlab"], "tests": {"modelValidation": {"command": "python eval.py",
                                                                "thresholds": {"auc": {"min": 0.8}}}}},
    "deploy": {
        "gitops": {"repo": "https://gitlab.example.com/acme/gitops.git"},
        "environments": [{"name": "staging", "strategy": {"type": "canary"}},
                         {"name": "prod", "strategy": {"type": "blueGreen"}}],
    },
    "monitoring": {"slos": [{"signal": "errorRate", "threshold": 0.01}]},
    "training": {
        "triggers": {"schedule": "0 3 * * 1"},
        "command": "python train.py",
        "outputUri": "s3://models/tiny-model/runs",
        "dataChecks": {"path": "data/train.csv", "drift": {"reference": "data/reference.csv"}},
        "evaluation": {"command": "python eval.py", "thresholds": {"auc": {"min": 0.8}},
                       "champion": {"metric": "auc"}},
        "registry": {"trackingUri": "https://mlflow.example.com"},
    },
}


def _steps(steps: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in dataclasses.asdict(step).items() if v is not None} for step in steps]


def _version_of(name: str) -> Callable[[Any], str]:
    return lambda versions: version_text(dict(versions)[name])


# Where the model keeps a field under another name or in another form than the schema's path says.
# The model flattens small objects into their parent (an environment's strategy, the training
# resources and Airflow settings, Jenkins credentials, rollback and Prometheus settings, registry
# aliases, outlier limits); `for` is a Python keyword; canary steps and the rule selector are typed.
ELSEWHERE: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "ci.jenkins.credentials.registry": ("ci.jenkins.registry_credentials", str),
    "ci.jenkins.credentials.gitops": ("ci.jenkins.gitops_credentials", str),
    "ci.jenkins.credentials.mlflow": ("ci.jenkins.mlflow_credentials", str),
    "ci.jenkins.credentials.gitlab": ("ci.jenkins.gitlab_credentials", str),
    "ci.jenkins.credentials.argocd": ("ci.jenkins.argocd_credentials", str),
    "ci.security.sastRules": ("ci.security.sast_rules", str),
    "deploy.environments[].strategy.steps": ("deploy.environments[].steps", _steps),
    "deploy.environments[].strategy.duration": ("deploy.environments[].duration", str),
    "deploy.rollback.automatic": ("deploy.automatic_rollback", bool),
    "deploy.rollback.manual": ("deploy.manual_rollback", bool),
    "monitoring.prometheus.url": ("monitoring.prometheus_url", str),
    "monitoring.prometheus.ruleSelector": ("monitoring.rule_selector", dict),
    "monitoring.slos[].for": ("monitoring.slos[].for_", str),
    "training.resources.cpu": ("training.cpu", str),
    "training.resources.memory": ("training.memory", str),
    "training.resources.gpu": ("training.gpu", int),
    "training.dataChecks.outliers.zScore": ("training.data_checks.outlier_z", float),
    "training.dataChecks.outliers.maxFraction": ("training.data_checks.max_outlier_fraction", float),
    "training.registry.aliases.challenger": ("training.registry.challenger_alias", str),
    "training.registry.aliases.champion": ("training.registry.champion_alias", str),
    "training.airflow.dagsFolder": ("training.dags_folder", str),
    **{f"platform.{name}": ("platform.versions", _version_of(name)) for name in
       ("kubernetes", "kserve", "argocd", "argoRollouts", "seldon")},
    "platform.knative.version": ("platform.versions", _version_of("knative")),
    "platform.knative.features": ("platform.knative_features", sorted),
}
# Which environment of BASE a strategy default applies to: steps to the canary, duration to the preview.
ENVIRONMENT = {"deploy.environments[].strategy.duration": 1}


def schema_defaults(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, Any]]:
    for name, sub in node.get("properties", {}).items():
        if not isinstance(sub, dict):
            continue
        here = f"{path}.{name}".lstrip(".")
        if "default" in sub:
            yield here, sub["default"]
        yield from schema_defaults(sub, here)
        if isinstance(sub.get("items"), dict):
            yield from schema_defaults(sub["items"], f"{here}[]")
        if isinstance(sub.get("additionalProperties"), dict):
            yield from schema_defaults(sub["additionalProperties"], f"{here}.*")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _model_value(spec: Any, path: str, index: int) -> Any:
    value = spec
    for part in path.split("."):
        value = getattr(value, _snake(part.removesuffix("[]")))
        if part.endswith("[]"):
            value = value[index]
    return value


def _normalised(data: dict[str, Any]) -> Any:
    loaded = parse_spec(json.dumps(data).encode(), "mlops.yaml", Path("mlops.yaml"))
    assert spec_problems(loaded) == []
    return normalise(loaded.data, "mlops.yaml")


DEFAULTS = list(schema_defaults(SCHEMA))


def test_the_base_spec_omits_every_defaulted_field() -> None:
    _normalised(BASE)
    for path, _ in DEFAULTS:
        holder: Any = BASE
        for part in path.split(".")[:-1]:
            holder = holder.get(part.removesuffix("[]"), {}) if isinstance(holder, dict) else {}
            holder = holder[0] if isinstance(holder, list) else holder
        assert path.split(".")[-1] not in holder, path


@pytest.mark.parametrize(("path", "default"), DEFAULTS, ids=[path for path, _ in DEFAULTS])
def test_an_omitted_field_normalises_to_its_schema_default(path: str, default: Any) -> None:
    spec = _normalised(copy.deepcopy(BASE))
    model_path, form = ELSEWHERE.get(path, (path, type(default)))
    assert form(_model_value(spec, model_path, ENVIRONMENT.get(path, 0))) == default, path


def test_the_chosen_strategy_takes_the_schema_strategy_defaults() -> None:
    """normalise fills in a strategy it chose itself from the same schema defaults."""
    data = copy.deepcopy(BASE)
    for env in data["deploy"]["environments"]:
        del env["strategy"]
    production = _normalised(data).deploy.environments[-1]
    assert production.strategy == "canary"  # a new capability, in production, with an SLO
    assert _steps(production.steps) == schema_default(SCHEMA, "deploy.environments[].strategy.steps")
    assert production.duration == schema_default(SCHEMA, "deploy.environments[].strategy.duration")


def _field(path: str) -> dict[str, Any]:
    node: Any = SCHEMA
    for part in path.split("."):
        node = node["additionalProperties"] if part == "*" else node["properties"][part.removesuffix("[]")]
        node = node["items"] if part.endswith("[]") else node
    return dict(node)


@pytest.mark.parametrize("path", sorted(DERIVED_DEFAULTS))
def test_every_derived_default_is_documented_in_the_schema(path: str) -> None:
    assert "default" in _field(path)["description"].lower(), f"{path}: say what it defaults to"


def test_derived_defaults_are_not_also_schema_defaults() -> None:
    """Only deploymentMode is both: a schema default that applies with the kserve runtime only."""
    assert {path for path, _ in DEFAULTS} & set(DERIVED_DEFAULTS) == {"serving.deploymentMode"}
