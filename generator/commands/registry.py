"""`mlopsgen registry`: register a retrained model in MLflow, check the deployed version is
registered, and move an alias (champion) to it.

The deploy must never reference an unregistered version: `check` resolves the spec's model to a
registered name and version number, the same way `alias` does, and fails unless it is READY.
This module reads the arguments and the environment and prints; generator/ct/registration.py
decides, and generator/integrations/mlflow.py talks to MLflow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse

from generator.commands import emit_json, load_training_spec
from generator.ct.registration import (
    check,
    deployed_version,
    move_alias,
    pipeline_url,
    read_report_metrics,
    register,
    registered_record,
)
from generator.deliver.writer import write_atomically
from generator.errors import EXIT_OK, EXIT_USER_ERROR, UserError
from generator.integrations.mlflow import Credentials, MlflowRegistry
from generator.model import Spec, Training


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


def _register(args: argparse.Namespace, spec: Spec, training: Training, registry: MlflowRegistry) -> int:
    if not args.source.strip():
        raise UserError("--source is empty", "pass the URI the training run wrote the model to")
    metrics = read_report_metrics(args.report) if args.report else None
    for metric in metrics.skipped if metrics else ():
        print(f"mlopsgen: not tagging {metric!r}: not a finite number or not a valid MLflow tag name",
              file=sys.stderr)
    created, source = register(registry, spec, training, spec_text=args.spec.read_bytes(), source=args.source,
                       run_id=args.run_id or "", metrics=metrics.tags if metrics else {},
                       pipeline=pipeline_url(os.environ))
    name = training.registry.model_name
    result = registered_record(name, created, source)
    if args.output:
        write_atomically(args.output, (json.dumps(result, indent=2) + "\n").encode())
    if args.format == "json":
        emit_json(result)
    else:
        resolved = f" from {source.source}" if source.source != args.source else ""
        print(f"registered {name} version {created.version} ({created.uri}){resolved}")
        print(f"alias {training.registry.challenger_alias} -> {name} version {created.version}")
    return EXIT_OK


def _check(args: argparse.Namespace, name: str, version: str, registry: MlflowRegistry) -> int:
    verdict = check(registry, name, version)
    if args.format == "json":
        emit_json({"name": name, "version": version, "uri": f"models:/{name}/{version}", "status": verdict.status,
                   "ready": verdict.ready, "message": verdict.message})
    else:
        print(("" if verdict.ready else "FAIL ") + verdict.message)
    return EXIT_OK if verdict.ready else EXIT_USER_ERROR


def _alias(args: argparse.Namespace, name: str, version: str, alias: str, registry: MlflowRegistry) -> int:
    previous = move_alias(registry, name, version, alias)
    if args.format == "json":
        emit_json({"name": name, "version": version, "alias": alias, "uri": f"models:/{name}/{version}",
                   "previous": previous})
    else:
        moved = f" (was version {previous})" if previous and previous != version else ""
        print(f"alias {alias} -> {name} version {version}{moved}")
    return EXIT_OK
