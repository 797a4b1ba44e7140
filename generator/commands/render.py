"""`mlopsgen render`: render, verify, then write what changed, never losing a hand edit silently."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict

from generator.artifacts import spec_outside
from generator.commands import emit_json
from generator.deliver.writer import (
    WRITES,
    Action,
    DirectorySnapshot,
    apply_changes,
    change_diff,
    plan_changes,
    refuse_conflicts,
)
from generator.errors import EXIT_OK
from generator.render.cost import environment_cost
from generator.render.engine import build


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    out_dir = args.out if args.out is not None else args.spec.parent
    result = build(args.spec, out_dir)
    changes = plan_changes(out_dir, result.files, result.provenance)
    refuse_conflicts(changes, out_dir, force=args.force)
    there = DirectorySnapshot(out_dir)
    diffs = {c.path: change_diff(c, there) for c in changes if c.action in WRITES} if args.diff else {}
    if not args.dry_run:
        apply_changes(out_dir, changes, force=args.force)
    counts = {action.value: sum(c.action is action for c in changes) for action in Action}
    costs = [environment_cost(result.spec, env) for env in result.spec.deploy.environments]
    note = ""
    if spec_outside(args.spec, out_dir):
        note = (f"{args.spec} is outside {out_dir}: the generated files expect the spec at the root of the "
                f"repository, as {out_dir / result.spec.source}")
    if args.format == "json":
        emit_json({"spec": str(args.spec), "out": str(out_dir), "spec_in_repository": result.spec.source,
                   "note": note, "dry_run": args.dry_run,
                   "files": [{"path": c.path, "action": c.action.value, "hand_edited": c.edited,
                              **({"diff": diffs[c.path]} if c.path in diffs else {})} for c in changes],
                   "summary": counts, "resources": [asdict(c) for c in costs],
                   "warnings": [w.to_json() for w in result.warnings]})
        return EXIT_OK
    verb = "would " if args.dry_run else ""
    for change in changes:
        if change.action in WRITES:
            edited = " (hand edits discarded: --force)" if change.edited else ""
            print(f"{verb}{change.action.value:<9} {change.path}{edited}")
            sys.stdout.write(diffs.get(change.path, ""))
    summary = ", ".join(f"{n} {name}" for name, n in counts.items() if n)
    elapsed = time.perf_counter() - started
    print(f"{result.spec.name}: {len(changes)} files in {out_dir} ({summary}) in {elapsed:.2f}s", file=sys.stderr)
    if note:
        print(f"note: {note}", file=sys.stderr)
    for warning in result.warnings:
        print(f"warning: {warning.format()}", file=sys.stderr)
    print("resources requested per environment:\n" + "\n".join(c.line() for c in costs), file=sys.stderr)
    return EXIT_OK
