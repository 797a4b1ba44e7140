"""`mlopsgen sync`: render, then commit what changed to a local git repository or to GitLab."""

from __future__ import annotations

import argparse
import sys

from generator.backends import BackendError
from generator.commands import emit_json
from generator.engine import build
from generator.errors import EXIT_OK, UserError
from generator.remote import GitLabAccess, open_gitlab, open_local
from generator.sync import Destination, SyncOptions, SyncOutcome, sync

MR_BRANCH = "mlopsgen/update"


def run(args: argparse.Namespace) -> int:
    spec_dir = args.spec.parent
    result = build(args.spec, spec_dir)
    access = None
    if args.gitlab_url:
        if not args.project:
            raise UserError("--gitlab-url needs --project GROUP/REPO")
        access = GitLabAccess.from_environment(args.gitlab_url)
        client = access.client()
        model_repo = open_gitlab(access, args.project, client, branch=args.branch)
        gitops_repo = open_gitlab(access, args.gitops_project, client) if args.gitops_project else None
    else:
        if args.project or args.gitops_project:
            raise UserError("--project and --gitops-project need --gitlab-url")
        model_repo, gitops_repo = open_local(spec_dir), None

    destinations = [Destination(model_repo, result.files)]
    if gitops_repo is not None:  # GitOps manifests to their own repository, with their own manifest
        prefix = result.spec.deploy.gitops.path + "/"
        destinations = [Destination(model_repo, [f for f in result.files if not f.path.startswith(prefix)]),
                        Destination(gitops_repo, [f for f in result.files if f.path.startswith(prefix)],
                                    manifest_path=f"{prefix}.mlopsgen/manifest.json")]
    options = SyncOptions(source=result.spec.source, target_branch=args.branch,
                          merge_request_branch=(args.mr_branch or MR_BRANCH) if args.merge_request else None,
                          dry_run=args.dry_run)
    outcomes: list[SyncOutcome] = []
    try:
        for dest in destinations:
            outcomes.append(sync(dest, options))
    except BackendError as exc:
        message = access.scrub(str(exc)) if access else str(exc)
        raise UserError(message, "nothing was committed to that repository; run the sync again") from None
    if args.format == "json":
        emit_json({"outcomes": [o.to_json() for o in outcomes]})
        return EXIT_OK
    for outcome in outcomes:
        _report(outcome)
    return EXIT_OK


def _report(outcome: SyncOutcome) -> None:
    if outcome.status == "unchanged":
        print(f"{outcome.repository}: up to date, nothing to commit")
        return
    verb = "would change" if outcome.status == "would-change" else "changed"
    print(f"{outcome.repository}: {verb} {len(outcome.changes)} file(s)")
    for change in outcome.changes:
        print(f"  {change.action.value:<7} {change.path}")
    if outcome.commit:
        print(f"  commit {outcome.commit[:12]}", file=sys.stdout)
    if outcome.merge_request:
        mr = outcome.merge_request
        print(f"  merge request {mr.reference} {'opened' if mr.created else 'updated'}: {mr.url}")
