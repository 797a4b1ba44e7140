from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict

from generator.commands import emit_json
from generator.cost import environment_cost
from generator.engine import build
from generator.errors import EXIT_OK
from generator.writer import Action, apply_changes, plan_changes, refuse_conflicts


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    out_dir = args.out if args.out is not None else args.spec.parent
    result = build(args.spec, out_dir)
    changes = plan_changes(out_dir, result.files, result.spec.source)
    refuse_conflicts(changes)
    if not args.dry_run:
        apply_changes(out_dir, changes)
    counts = {action.value: sum(c.action is action for c in changes) for action in Action}
    costs = [environment_cost(result.spec, env) for env in result.spec.deploy.environments]
    if args.format == "json":
        emit_json({"spec": str(args.spec), "out": str(out_dir), "dry_run": args.dry_run,
                   "files": [{"path": c.path, "action": c.action.value} for c in changes], "summary": counts,
                   "resources": [asdict(c) for c in costs]})
        return EXIT_OK
    verb = "would " if args.dry_run else ""
    for change in changes:
        if change.action not in (Action.UNCHANGED, Action.KEEP):
            print(f"{verb}{change.action.value:<9} {change.path}")
    summary = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    elapsed = time.perf_counter() - started
    print(f"{result.spec.name}: {len(changes)} files in {out_dir} ({summary}) in {elapsed:.2f}s", file=sys.stderr)
    print("resources requested per environment:\n" + "\n".join(c.line() for c in costs), file=sys.stderr)
    return EXIT_OK
