"""`mlopsgen sync`: render, then commit what changed to a local git repository or to GitLab.
Through GitLab, a sync of the spec's default branch also keeps the retraining schedule in step
with the spec (generator.schedules), with or without --merge-request: the spec it reads is the
one already on that branch, and only the generated files are proposed."""

from __future__ import annotations

import argparse
import sys

from generator.backends import BackendError
from generator.backends.gitlab import GitLabRepository
from generator.commands import emit_json
from generator.engine import build
from generator.errors import EXIT_OK, UserError
from generator.model import Spec
from generator.remote import GitLabAccess, open_gitlab, open_local
from generator.schedules import (
    ScheduleForbidden,
    ScheduleOutcome,
    ScheduleStore,
    manages_schedule,
    reconcile,
    schedule_description,
    wanted_schedule,
)
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
    schedule = None
    if access is not None and isinstance(model_repo, GitLabRepository) and manages_schedule(result.spec):
        target = args.branch or model_repo.default_branch
        schedule = _sync_schedule(model_repo, result.spec, target, args, access, outcomes[0])
    if args.format == "json":
        emit_json({"outcomes": [o.to_json() for o in outcomes],
                   "schedule": None if schedule is None else schedule.to_json()})
        return EXIT_OK
    for outcome in outcomes:
        _report(outcome)
    if schedule is not None and schedule.status != "absent":
        print(f"{model_repo.name}: {schedule.summary()}")
    return EXIT_OK


def _sync_schedule(store: ScheduleStore, spec: Spec, target: str, args: argparse.Namespace, access: GitLabAccess,
                   files: SyncOutcome) -> ScheduleOutcome | None:
    """After the files: the schedule runs the pipeline they define. A failure here leaves the
    committed files in place; the next sync lists the schedules again and converges."""
    description = schedule_description(spec.metadata.name)
    home = spec.ci.default_branch
    want = wanted_schedule(spec, home)
    if target != home:
        if want is None:
            return None
        why = f"the pipeline schedule follows syncs of {home} (ci.defaultBranch), not of {target}"
        return ScheduleOutcome("skipped", description, want, note=why)
    done = (f"the generated files were committed ({files.commit[:12]})" if files.commit
            else "the generated files were already up to date" if files.status == "unchanged" else "")
    try:
        return reconcile(store, description, want, dry_run=args.dry_run)
    except ScheduleForbidden as exc:
        raise UserError(access.scrub(str(exc)) + ". Managing pipeline schedules needs a token with the api scope "
                        f"and the Maintainer role on {store.name}",
                        "use a project access token (role Maintainer, scope api) in GITLAB_TOKEN, then run the sync "
                        f"again{'; ' + done if done else ''}") from None
    except BackendError as exc:
        raise UserError(access.scrub(str(exc)), "the pipeline schedule was not changed; run the sync again"
                        + (f"; {done}" if done else "")) from None


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
