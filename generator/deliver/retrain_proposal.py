"""The merge request that ends a retraining run: the spec's model bumped to the version the registry
just accepted (generator/ct/bump.py), everything re-rendered, one branch per model version, the gate
report in the description. Delivery (replanning against the target, no new commit when the branch
already holds it) is generator/deliver/delivery.py's."""

from __future__ import annotations

import tempfile
from pathlib import Path

from generator.ct.bump import bump_model
from generator.ct.registration import Registered
from generator.deliver.backends import BranchSnapshot, Repository
from generator.deliver.delivery import ChangeSet, Delivery, Proposal, Route, deliver
from generator.deliver.writer import WRITES, Action, Change, plan_changes, refuse_conflicts
from generator.errors import UserError
from generator.render.engine import build


def description(registered: Registered, report: str, changes: list[Change]) -> str:
    rows = "\n".join(f"| {c.action.value} | `{c.path}` |" for c in changes)
    return (f"Retrained **{registered.name}** passed its gate and is registered in MLflow as version "
            f"**{registered.version}** (`{registered.uri}`, trained to `{registered.source}`).\n\n"
            "Merging this sends it down the delivery pipeline: build, then each environment in order, "
            "with the spec's canary, analysis and rollback.\n\n"
            f"{report.strip() or '_No gate report was attached._'}\n\n"
            f"### Changed files ({len(changes)})\n\n| action | file |\n| --- | --- |\n{rows}\n")


def propose(repo: Repository, spec_path: str, registered: Registered, report: str, target: str,
            dry_run: bool) -> Delivery:
    """Through generator.deliver.delivery: one merge request per model version (its own branch), replanned
    against the target branch on every attempt, and no new commit when the branch already holds it."""
    names: list[str] = []

    def plan(snapshot: BranchSnapshot) -> list[Change]:
        current = snapshot.read(spec_path)
        if current is None:
            raise UserError(f"{repo.name}: no {spec_path} on {target}")
        bumped = bump_model(current.decode("utf-8"), registered.version, registered.uri).encode("utf-8")
        with tempfile.TemporaryDirectory(prefix="mlopsgen-propose-") as tmp:
            local = Path(tmp) / spec_path
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(bumped)
            result = build(local, Path(tmp))  # the bumped spec must validate, render and verify
        names[:] = [result.spec.name]
        changes = plan_changes(snapshot, result.files, result.provenance)
        refuse_conflicts(changes, snapshot, where=f"{repo.name}: ")
        writes = [c for c in changes if c.action in WRITES]
        return writes if bumped == current else [Change(spec_path, Action.UPDATE, bumped), *writes]

    def title(_writes: list[Change]) -> str:
        return f"Retrain {names[0]}: model version {registered.version}"

    change_set = ChangeSet(plan, lambda writes: f"{title(writes)}\n\n{registered.uri}\n")
    proposal = Proposal(f"mlopsgen/retrain-{registered.version}", title,
                        lambda writes: description(registered, report, writes))
    return deliver(Route(repo, target, proposal), change_set, dry_run=dry_run)
