"""`mlopsgen propose`: the last step of a retraining run. Bump the spec's model to the version the
registry just accepted, re-render, and open one merge request (branch per version) whose
description carries the gate report. Merging it sends the model down the normal CD path.

The registered record it reads is generator/ct/registration.py's Registered; the spec edit is
generator/ct/bump.py's; delivery (replanning, one branch per version) is generator/deliver's."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path, PurePosixPath

from generator.commands import emit_json
from generator.ct.bump import bump_model
from generator.ct.registration import Registered
from generator.deliver.backends import BackendError, BranchSnapshot, Repository
from generator.deliver.delivery import ChangeSet, Delivery, Proposal, Route, deliver
from generator.deliver.writer import WRITES, Action, Change, plan_changes, refuse_conflicts
from generator.errors import EXIT_OK, UserError
from generator.integrations.remote import GitLabAccess, open_gitlab, open_local
from generator.render.engine import build


def _repo_path(spec: Path) -> str:
    path = PurePosixPath(spec.as_posix())
    if path.is_absolute() or ".." in path.parts:
        raise UserError(f"give the spec's path inside the repository, not {spec}", "for example mlops.yaml")
    return str(path)


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
        changes = plan_changes(snapshot, result.files, result.spec.source)
        refuse_conflicts(changes, snapshot, where=f"{repo.name}: ")
        writes = [c for c in changes if c.action in WRITES]
        return writes if bumped == current else [Change(spec_path, Action.UPDATE, bumped), *writes]

    def title(_writes: list[Change]) -> str:
        return f"Retrain {names[0]}: model version {registered.version}"

    change_set = ChangeSet(plan, lambda writes: f"{title(writes)}\n\n{registered.uri}\n")
    proposal = Proposal(f"mlopsgen/retrain-{registered.version}", title,
                        lambda writes: description(registered, report, writes))
    return deliver(Route(repo, target, proposal), change_set, dry_run=dry_run)


def run(args: argparse.Namespace) -> int:
    registered = Registered.read(args.registered)
    try:
        report = args.report.read_text(encoding="utf-8") if args.report else ""
    except OSError as exc:
        raise UserError(f"cannot read the gate report {args.report}: {exc.strerror}",
                        "`mlopsgen evaluate --markdown FILE` writes it") from None
    access = None
    if args.gitlab_url:
        if not args.project:
            raise UserError("--gitlab-url needs --project GROUP/REPO")
        access = GitLabAccess.from_environment(args.gitlab_url)
        repo, spec_path = open_gitlab(access, args.project, branch=args.branch), _repo_path(args.spec)
    else:
        if args.project:
            raise UserError("--project needs --gitlab-url")
        repo, spec_path = open_local(args.spec.parent), args.spec.name
    try:
        outcome = propose(repo, spec_path, registered, report, args.branch or repo.default_branch, args.dry_run)
    except BackendError as exc:
        message = access.scrub(str(exc)) if access else str(exc)
        raise UserError(message, "nothing was committed; run the step again") from None
    if args.format == "json":
        emit_json(outcome.to_json())
        return EXIT_OK
    if outcome.status == "unchanged":
        print(f"{outcome.repository}: " + (f"{outcome.note}; nothing to commit" if outcome.note else
                                           f"already at model version {registered.version}; no merge request"))
        return EXIT_OK
    verb = "would change" if outcome.status == "would-change" else "changed"
    print(f"{outcome.repository}: {verb} {len(outcome.changes)} file(s) for model version {registered.version}")
    for change in outcome.changes:
        print(f"  {change.action.value:<7} {change.path}")
    if outcome.merge_request:
        mr = outcome.merge_request
        print(f"  merge request {mr.reference} {'opened' if mr.created else 'updated'}: {mr.url}")
    return EXIT_OK
