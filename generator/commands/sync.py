"""`mlopsgen sync`: render, then commit what changed to a local git repository or to GitLab.
Through GitLab, a sync of the spec's default branch also keeps the retraining schedule in step
with the spec (generator.deliver.schedules), with or without --merge-request: the spec it reads is the
one already on that branch, and only the generated files are proposed."""

from __future__ import annotations

import argparse
import sys

from generator.commands import emit_json
from generator.deliver.backends import BackendError
from generator.deliver.delivery import Delivery
from generator.deliver.schedules import (
    ScheduleForbidden,
    ScheduleOutcome,
    ScheduleStore,
    manages_schedule,
    reconcile,
    schedule_description,
    wanted_schedule,
)
from generator.deliver.sync import Destination, SpecFile, SyncOptions, sync
from generator.deliver.writer import change_diff
from generator.errors import EXIT_OK, UserError
from generator.integrations.remote import GitLabAccess, checked_out_blob, open_gitlab, open_local
from generator.model import Spec
from generator.render.engine import build

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

    # the spec travels with its files; through GitLab, the checkout says which spec it started from
    spec_file = SpecFile(result.spec.source, args.spec.read_bytes(),
                         checked_out_blob(args.spec) if access is not None else None)
    branch = args.branch or model_repo.default_branch
    destinations = [Destination(model_repo, branch, result.files, result.provenance, spec=spec_file)]
    if gitops_repo is not None:  # GitOps manifests to their own repository and branch, with their own manifest
        prefix = result.spec.deploy.gitops.path + "/"
        destinations = [Destination(model_repo, branch, [f for f in result.files if not f.path.startswith(prefix)],
                                    result.provenance, spec=spec_file),
                        Destination(gitops_repo, result.spec.deploy.gitops.branch,
                                    [f for f in result.files if f.path.startswith(prefix)],
                                    result.provenance, manifest_path=f"{prefix}.mlopsgen/manifest.json")]
    options = SyncOptions(source=result.spec.source,
                          merge_request_branch=(args.mr_branch or MR_BRANCH) if args.merge_request else None,
                          dry_run=args.dry_run, force=args.force)
    outcomes: list[Delivery] = []
    try:
        for dest in destinations:
            outcomes.append(sync(dest, options))
    except BackendError as exc:
        message = access.scrub(str(exc)) if access else str(exc)
        raise UserError(message, "nothing was committed to that repository; run the sync again") from None
    schedule = None
    if access is not None and isinstance(model_repo, ScheduleStore) and manages_schedule(result.spec):
        schedule = _sync_schedule(model_repo, result.spec, branch, args, access, outcomes[0])
    if args.format == "json":
        emit_json({"outcomes": [{**o.to_json(), **({"diff": _diff(o)} if args.diff else {})} for o in outcomes],
                   "schedule": None if schedule is None else schedule.to_json()})
        return EXIT_OK
    for outcome in outcomes:
        _report(outcome)
        if args.diff:
            sys.stdout.write(_diff(outcome))
    if schedule is not None and schedule.status != "absent":
        print(f"{model_repo.name}: {schedule.summary()}")
    return EXIT_OK


def _diff(outcome: Delivery) -> str:
    """--diff: what the commit changes (or would), against the branch it was planned on."""
    return "".join(change_diff(change, outcome.base) for change in outcome.changes)


def _sync_schedule(store: ScheduleStore, spec: Spec, target: str, args: argparse.Namespace, access: GitLabAccess,
                   files: Delivery) -> ScheduleOutcome | None:
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


def _report(outcome: Delivery) -> None:
    if outcome.status == "unchanged":
        print(f"{outcome.repository}: up to date on {outcome.branch}, nothing to commit"
              + (f" ({outcome.note})" if outcome.note else ""))
        return
    verb = "would change" if outcome.status == "would-change" else "changed"
    print(f"{outcome.repository}: {verb} {len(outcome.changes)} file(s) on {outcome.branch}")
    for change in outcome.changes:
        print(f"  {change.action.value:<7} {change.path}")
    if outcome.commit:
        print(f"  commit {outcome.commit[:12]}", file=sys.stdout)
    if outcome.merge_request:
        mr = outcome.merge_request
        print(f"  merge request {mr.reference} {'opened' if mr.created else 'updated'}: {mr.url}")
