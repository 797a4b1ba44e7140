"""`mlopsgen propose`: the last step of a retraining run. Bump the spec's model to the version the
registry just accepted, re-render, and open one merge request (branch per version) whose
description carries the gate report. Merging it sends the model down the normal CD path.

The registered record it reads is generator/ct/registration.py's Registered; the merge request is
generator/deliver/retrain_proposal.py's."""

from __future__ import annotations

import argparse
from pathlib import Path, PurePosixPath

from generator.commands import emit_json
from generator.ct.registration import Registered
from generator.deliver.backends import BackendError
from generator.deliver.retrain_proposal import propose
from generator.errors import EXIT_OK, UserError
from generator.integrations.remote import GitLabAccess, open_gitlab, open_local


def _repo_path(spec: Path) -> str:
    path = PurePosixPath(spec.as_posix())
    if path.is_absolute() or ".." in path.parts:
        raise UserError(f"give the spec's path inside the repository, not {spec}", "for example mlops.yaml")
    return str(path)


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
