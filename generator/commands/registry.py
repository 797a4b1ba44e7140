"""`mlopsgen registry`: register a retrained model in MLflow, check the deployed version is
registered, and move an alias (champion) to it.

The deploy must never reference an unregistered version: `check` resolves the spec's model to a
registered name and version number, the same way `alias` does, and fails unless it is READY.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import posixpath
import re
import sys
import urllib.parse
from pathlib import Path

from generator.commands import emit_json, load_training_spec
from generator.deliver.writer import write_atomically
from generator.errors import EXIT_OK, EXIT_USER_ERROR, UserError
from generator.integrations.mlflow import FAILED, PENDING, READY, Credentials, MlflowRegistry, RegistryError
from generator.model import Spec, Training

REGISTRATION_TIMEOUT = 600.0
PIPELINE_VARIABLES = ("CI_PIPELINE_URL", "BUILD_URL", "AIRFLOW_CTX_DAG_RUN_ID")  # GitLab, Jenkins, Airflow
_TAG_KEY = re.compile(r"^[/\w.\- :]{1,250}$")  # MLflow's tag names (mlflow/utils/validation.py)
_VERSION = re.compile(r"^[1-9][0-9]*$")
PIN_HINT = ("pin a registered version: model.uri models:/<name>/<version>, or model.version the version "
            "number `mlopsgen registry register` printed")


def run(args: argparse.Namespace) -> int:
    spec, training = load_training_spec(args.spec,
                                        "add training (with training.registry) to use the MLflow model registry")
    registry = MlflowRegistry(tracking_uri(args.tracking_uri, training), Credentials.from_environment())
    if args.registry_command == "register":
        return _register(args, spec, training, registry)
    if not spec.model.uri.startswith("models:/"):
        # a model from before continuous training (s3://, gs://...): the first retraining run proposes
        # a registered one; until then there is no registry entry to check or to alias
        message = (f"model.uri {spec.model.uri} is not in the registry (not models:/...): nothing to "
                   + ("check" if args.registry_command == "check" else "alias"))
        if args.format == "json":
            emit_json({"name": training.registry.model_name, "version": spec.model.version,
                       "status": "NOT_A_REGISTRY_MODEL", "ready": True, "message": message})
        else:
            print(message)
        return EXIT_OK
    name, version = deployed_version(spec, training)
    if args.registry_command == "check":
        return _check(args, name, version, registry)
    return _alias(args, name, version, args.alias or training.registry.champion_alias, registry)


def tracking_uri(option: str | None, training: Training) -> str:
    """--tracking-uri, then MLFLOW_TRACKING_URI, then training.registry.trackingUri."""
    for source, value in (("--tracking-uri", option), ("MLFLOW_TRACKING_URI", os.environ.get("MLFLOW_TRACKING_URI")),
                          ("training.registry.trackingUri", training.registry.tracking_uri)):
        if not value:
            continue
        try:
            parts = urllib.parse.urlsplit(value)
            host = parts.hostname
        except ValueError:
            parts, host = None, None
        if parts is not None and (parts.username is not None or parts.password is not None):  # not repeated
            raise UserError(f"{source} holds credentials", "put them in MLFLOW_TRACKING_TOKEN, or "
                            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, not in the URL")
        if parts is None or parts.scheme not in ("http", "https") or not host:
            raise UserError(f"{source} {value!r} is not an http(s) URL of an MLflow tracking server",
                            "for example https://mlflow.example.com")
        return value
    raise AssertionError("unreachable: trackingUri is required by the schema")


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
        if not parts[0] or len(parts) > 2 or (len(parts) == 2 and not _VERSION.match(parts[1])):
            raise UserError(f"model.uri {uri} is not models:/<name>/<version number>", PIN_HINT)
        name = parts[0]
        if len(parts) == 2 and parts[1] != version:
            raise UserError(f"model.uri {uri} pins version {parts[1]} but model.version is {version!r}",
                            "the image serves model.version: make the two agree")
    if not _VERSION.match(version):
        raise UserError(f"model.version {version!r} is not an MLflow version number (1, 2, 3...)", PIN_HINT)
    return name, version


def _register(args: argparse.Namespace, spec: Spec, training: Training, registry: MlflowRegistry) -> int:
    if not args.source.strip():
        raise UserError("--source is empty", "pass the URI the training run wrote the model to")
    metrics = read_report_metrics(args.report) if args.report else {}
    name = training.registry.model_name
    tags = {"mlopsgen.spec_digest": "sha256:" + hashlib.sha256(args.spec.read_bytes()).hexdigest()}
    pipeline = next((os.environ[v] for v in PIPELINE_VARIABLES if os.environ.get(v)), "")
    if pipeline:
        tags["mlopsgen.pipeline"] = pipeline[:5000]
    registry.ensure_registered_model(name, f"{spec.name}, registered by mlopsgen")
    created = registry.create_version(name, args.source, run_id=args.run_id or "", tags=tags,
                                      description=f"retrained {spec.name}, registered by mlopsgen")
    version = created.version
    try:
        registry.wait_ready(name, version, timeout=REGISTRATION_TIMEOUT)
        for metric, value in metrics.items():
            registry.set_version_tag(name, version, f"metric.{metric}", value)
        registry.set_alias(name, training.registry.challenger_alias, version)
    except RegistryError as exc:  # say which version exists now, half done
        raise RegistryError(f"{name} version {version} was created, but: {exc.message}", exc.hint,
                            error_code=exc.error_code, status=exc.status) from None
    result = {"name": name, "version": version, "uri": created.uri, "source": args.source,
              "run_id": args.run_id or None}
    if args.output:
        write_atomically(args.output, (json.dumps(result, indent=2) + "\n").encode())
    if args.format == "json":
        emit_json(result)
    else:
        print(f"registered {name} version {version} ({created.uri})")
        print(f"alias {training.registry.challenger_alias} -> {name} version {version}")
    return EXIT_OK


def read_report_metrics(path: Path) -> dict[str, str]:
    """The challenger's metrics of an evaluate report, as tag values; what is not a finite number is
    left out. A report saying the gate failed is refused: the challenger alias means it passed."""
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
    metrics: dict[str, str] = {}
    for metric, value in (challenger.items() if isinstance(challenger, dict) else ()):
        key = f"metric.{metric}"
        integer = isinstance(value, int) and not isinstance(value, bool)
        number = integer or (isinstance(value, float) and math.isfinite(value))
        if number and _TAG_KEY.match(key) and posixpath.normpath(key) == key:
            metrics[metric] = json.dumps(value)
        else:
            print(f"mlopsgen: not tagging {metric!r}: not a finite number or not a valid MLflow tag name",
                  file=sys.stderr)
    return metrics


NOT_REGISTERED = "NOT_REGISTERED"


def _status(registry: MlflowRegistry, name: str, version: str) -> str:
    """The version's registration status, NOT_REGISTERED when the registry has no such version."""
    try:
        return registry.get_version(name, version).status
    except RegistryError as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        return NOT_REGISTERED


def _check(args: argparse.Namespace, name: str, version: str, registry: MlflowRegistry) -> int:
    status = _status(registry, name, version)
    messages = {
        READY: "is registered and READY",
        PENDING: "is still registering (PENDING_REGISTRATION); deploy it once it is READY",
        FAILED: "failed to register (FAILED_REGISTRATION); register the model again",
        NOT_REGISTERED: f"is not registered in MLflow at {registry.base_url}",
    }
    message = f"{name} version {version} " + messages.get(status, f"has the unknown status {status!r}")
    ready = status == READY
    if args.format == "json":
        emit_json({"name": name, "version": version, "uri": f"models:/{name}/{version}", "status": status,
                   "ready": ready, "message": message})
    else:
        print(("" if ready else "FAIL ") + message)
    return EXIT_OK if ready else EXIT_USER_ERROR


def _alias(args: argparse.Namespace, name: str, version: str, alias: str, registry: MlflowRegistry) -> int:
    status = _status(registry, name, version)
    if status == NOT_REGISTERED:
        raise UserError(f"{name} version {version} is not registered in MLflow at {registry.base_url}: {alias} "
                        "is not moved", "register it with `mlopsgen registry register` first")
    if status != READY:
        raise UserError(f"{name} version {version} is {status or 'not ready'}, not READY: {alias} is not moved",
                        "run `mlopsgen registry check` until it is READY")
    before = registry.version_by_alias(name, alias)
    registry.set_alias(name, alias, version)
    previous = before.version if before else None
    if args.format == "json":
        emit_json({"name": name, "version": version, "alias": alias, "uri": f"models:/{name}/{version}",
                   "previous": previous})
    else:
        moved = f" (was version {previous})" if previous and previous != version else ""
        print(f"alias {alias} -> {name} version {version}{moved}")
    return EXIT_OK
