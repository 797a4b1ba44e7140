"""Registering a retrained model, and the rule that a deploy references a registered version only.

`mlopsgen registry` parses and prints; this module decides: which registered name and version a
spec deploys (pinned, never an alias), which evaluate metrics become tags, in what order a new
version is created, waited for, tagged and given the challenger alias, and whether a version may
be checked off or aliased. It talks to the registry through generator.ct.model_registry only.
The record `register --output` writes and `mlopsgen propose` reads is defined here too.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generator.ct.model_registry import (
    FAILED,
    MISSING,
    NOT_REGISTERED,
    PENDING,
    READY,
    ModelRegistry,
    ModelSource,
    ModelVersion,
    RegistryError,
)
from generator.errors import UserError
from generator.frozen import frozen
from generator.model import Spec, Training

REGISTRATION_TIMEOUT = 600.0
PIPELINE_VARIABLES = ("CI_PIPELINE_URL", "BUILD_URL", "AIRFLOW_CTX_DAG_RUN_ID")  # GitLab, Jenkins, Airflow
_TAG_KEY = re.compile(r"^[/\w.\- :]{1,250}$")  # MLflow's tag names (mlflow/utils/validation.py)
_VERSION_NUMBER = re.compile(r"^[1-9][0-9]*$")
_MODEL_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # model.version in the schema
PIN_HINT = ("pin a registered version: model.uri models:/<name>/<version>, or model.version the version "
            "number `mlopsgen registry register` printed")


def deployed_version(spec: Spec, training: Training) -> tuple[str, str]:
    """The registered name and version the spec deploys. A models:/ URI names the model and may pin
    the version (models:/<name>/<version>), which must then be model.version too: the image serves
    model.version. Otherwise the registry's modelName. Aliases, stages and 'latest' move: refused."""
    uri, version = spec.model.uri, spec.model.version
    name = training.registry.model_name
    if uri.startswith("models:/"):
        path = uri[len("models:"):].lstrip("/")
        if "@" in path:
            raise UserError(f"model.uri {uri} names an alias, which moves: the deploy would not say which "
                            "version it runs", PIN_HINT)
        parts = path.split("/")
        if not parts[0] or len(parts) > 2 or (len(parts) == 2 and not _VERSION_NUMBER.match(parts[1])):
            raise UserError(f"model.uri {uri} is not models:/<name>/<version number>", PIN_HINT)
        name = parts[0]
        if len(parts) == 2 and parts[1] != version:
            raise UserError(f"model.uri {uri} pins version {parts[1]} but model.version is {version!r}",
                            "the image serves model.version: make the two agree")
    if not _VERSION_NUMBER.match(version):
        raise UserError(f"model.version {version!r} is not an MLflow version number (1, 2, 3...)", PIN_HINT)
    return name, version


@frozen
class ReportMetrics:
    """The challenger's metrics of an evaluate report as tag values, and the ones left out."""

    tags: Mapping[str, str]  # metric name -> its JSON number
    skipped: tuple[str, ...] = ()  # not a finite number, or not a valid MLflow tag name


def read_report_metrics(path: Path) -> ReportMetrics:
    """The challenger's metrics of an evaluate report; what is not a finite number is skipped.
    A report saying the gate failed is refused: the challenger alias means it passed."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read the evaluate report {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UserError(f"{path} is not JSON: {exc}", "pass the file `mlopsgen evaluate --report` wrote") from None
    if not isinstance(report, dict):
        raise UserError(f"{path} is not an evaluate report (a JSON object)")
    if report.get("passed") is False:
        raise UserError(f"{path} says the retrained model failed the gate; it is not registered",
                        "only a model that passed `mlopsgen evaluate` is registered as the challenger")
    challenger = report.get("challenger")
    tags: dict[str, str] = {}
    skipped: list[str] = []
    for metric, value in (challenger.items() if isinstance(challenger, dict) else ()):
        key = f"metric.{metric}"
        integer = isinstance(value, int) and not isinstance(value, bool)
        number = integer or (isinstance(value, float) and math.isfinite(value))
        if number and _TAG_KEY.match(key) and posixpath.normpath(key) == key:
            tags[metric] = json.dumps(value)
        else:
            skipped.append(metric)
    return ReportMetrics(tags, tuple(skipped))


def pipeline_url(environ: Mapping[str, str]) -> str:
    """The CI pipeline (or Airflow run) doing the registration, "" outside one."""
    return next((environ[v] for v in PIPELINE_VARIABLES if environ.get(v)), "")


def register(registry: ModelRegistry, spec: Spec, training: Training, *, spec_text: bytes, source: str,
             run_id: str, metrics: Mapping[str, str], pipeline: str) -> tuple[ModelVersion, ModelSource]:
    """Check the source, then create a new version of the registered model (creating that first if
    needed), wait until it is READY, tag it with the metrics and give it the challenger alias.
    A source MLflow would refuse fails before anything is created; a registered model created here
    whose first version MLflow refuses anyway is deleted again, not left empty. A failure after the
    version was created names that version: it exists now, half done."""
    name = training.registry.model_name
    resolved = registry.resolve_source(source, run_id)
    tags = {"mlopsgen.spec_digest": "sha256:" + hashlib.sha256(spec_text).hexdigest()}
    if pipeline:
        tags["mlopsgen.pipeline"] = pipeline[:5000]
    created_model = registry.ensure_registered_model(name, f"{spec.name}, registered by mlopsgen")
    try:
        created = registry.create_version(name, resolved.source, run_id=resolved.run_id, model_id=resolved.model_id,
                                          tags=tags, description=f"retrained {spec.name}, registered by mlopsgen")
    except RegistryError as exc:
        if created_model and 400 <= exc.status < 500:  # refused, so nothing was created: leave nothing behind
            with contextlib.suppress(RegistryError):  # the refusal is the error to report
                registry.delete_registered_model(name)
        raise
    version = created.version
    try:
        registry.wait_ready(name, version, timeout=REGISTRATION_TIMEOUT)
        for metric, value in metrics.items():
            registry.set_version_tag(name, version, f"metric.{metric}", value)
        registry.set_alias(name, training.registry.challenger_alias, version)
    except RegistryError as exc:
        raise RegistryError(f"{name} version {version} was created, but: {exc.message}", exc.hint,
                            error_code=exc.error_code, status=exc.status) from None
    return created, resolved


def status_of(registry: ModelRegistry, name: str, version: str) -> str:
    """The version's registration status, NOT_REGISTERED when the registry has no such version."""
    try:
        return registry.get_version(name, version).status
    except RegistryError as exc:
        if exc.error_code != MISSING:
            raise
        return NOT_REGISTERED


@frozen
class Verdict:
    """`registry check`: may the spec's version be deployed, and why (not)."""

    status: str
    ready: bool
    message: str


def check(registry: ModelRegistry, name: str, version: str) -> Verdict:
    status = status_of(registry, name, version)
    messages = {
        READY: "is registered and READY",
        PENDING: "is still registering (PENDING_REGISTRATION); deploy it once it is READY",
        FAILED: "failed to register (FAILED_REGISTRATION); register the model again",
        NOT_REGISTERED: f"is not registered in MLflow at {registry.base_url}",
    }
    message = f"{name} version {version} " + messages.get(status, f"has the unknown status {status!r}")
    return Verdict(status, status == READY, message)


def move_alias(registry: ModelRegistry, name: str, version: str, alias: str) -> str | None:
    """Point alias at a READY version; the version it pointed at before, None when it was not set."""
    status = status_of(registry, name, version)
    if status == NOT_REGISTERED:
        raise UserError(f"{name} version {version} is not registered in MLflow at {registry.base_url}: {alias} "
                        "is not moved", "register it with `mlopsgen registry register` first")
    if status != READY:
        raise UserError(f"{name} version {version} is {status or 'not ready'}, not READY: {alias} is not moved",
                        "run `mlopsgen registry check` until it is READY")
    before = registry.version_by_alias(name, alias)
    registry.set_alias(name, alias, version)
    return before.version if before else None


@frozen
class Registered:
    """The record of a registered version: `registry register --output` writes it, `propose` reads it."""

    name: str
    version: str
    uri: str
    source: str

    @classmethod
    def read(cls, path: Path) -> Registered:
        hint = "`mlopsgen registry register --output FILE` writes it"
        try:
            raw: Any = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UserError(f"cannot read {path}: {exc.strerror}", hint) from None
        except ValueError as exc:
            raise UserError(f"{path} is not JSON: {exc}", hint) from None
        if not isinstance(raw, dict) or not all(isinstance(raw.get(k), str) for k in ("name", "version", "uri")):
            raise UserError(f"{path} must hold name, version and uri strings", hint)
        if not _MODEL_VERSION.fullmatch(raw["version"]):
            raise UserError(f"{path}: version {raw['version']!r} is not a model version", hint)
        if raw["uri"] != f"models:/{raw['name']}/{raw['version']}":
            raise UserError(f"{path}: uri {raw['uri']!r} does not pin models:/{raw['name']}/{raw['version']}", hint)
        return cls(raw["name"], raw["version"], raw["uri"], str(raw.get("source", "")))


def registered_record(name: str, created: ModelVersion, source: ModelSource) -> dict[str, Any]:
    """What `registry register --output` writes (and prints with --format json); Registered reads it.
    source is what the version was created from (a runs:/ source resolved to its logged model)."""
    record = {"name": name, "version": created.version, "uri": created.uri, "source": source.source,
              "run_id": source.run_id or None}
    if source.model_id:
        record["model_id"] = source.model_id
    return record
