"""`mlopsgen promote` and `mlopsgen rollback` on a local GitOps directory."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from generator.commands import emit_json
from generator.errors import EXIT_OK, UsageError
from generator.intake import load_valid_spec
from generator.release import Outcome, promote, rollback


def _gitops_dir(args: argparse.Namespace) -> Path:
    if args.dir is not None:
        return Path(args.dir)
    if not args.spec.is_file():
        raise UsageError(f"--dir not given and no spec at {args.spec}", "pass --dir DIR or --spec SPEC")
    loaded = load_valid_spec(args.spec)
    path: str = loaded.data["deploy"]["gitops"].get("path", "deploy")
    return Path(args.spec.parent) / path


def _report(args: argparse.Namespace, outcome: Outcome) -> int:
    r = outcome.release
    if args.format == "json":
        emit_json({"env": outcome.env, "changed": outcome.changed, **asdict(r)})
    elif not outcome.changed:
        print(f"{outcome.env}: already at {r.image} ({r.traffic}%)")
    elif r.action == "rollback":
        print(f"{outcome.env}: rolled back from {r.rolled_back} to last known-good {r.image}")
    else:
        print(f"{outcome.env}: {r.image} at {r.traffic}% (previous: {r.replaces})")
    return EXIT_OK


def run_promote(args: argparse.Namespace) -> int:
    return _report(args, promote(_gitops_dir(args), args.env, args.image_tag, args.traffic))


def run_rollback(args: argparse.Namespace) -> int:
    return _report(args, rollback(_gitops_dir(args), args.env))
