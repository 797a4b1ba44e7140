"""`mlopsgen promote` and `mlopsgen rollback`: on a GitOps directory, or through GitLab as one
commit per promotion (a rollback is a new, auditable commit)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from generator.commands import emit_json
from generator.deliver.backends import BackendError, BranchSnapshot
from generator.deliver.delivery import ChangeSet, Route, deliver
from generator.deliver.release_store import DirectoryStore
from generator.deliver.writer import Action, Change
from generator.errors import EXIT_OK, UsageError, UserError
from generator.frozen import frozen
from generator.integrations.remote import GitLabAccess, open_gitlab
from generator.render.release import Outcome, ReleaseStore, promote, rollback
from generator.spec.defaults import with_defaults
from generator.spec.intake import load_valid_spec
from generator.spec.validation import spec_schema


@frozen
class SnapshotStore:
    snapshot: BranchSnapshot
    prefix: str

    def read(self, path: str) -> bytes | None:
        return self.snapshot.read(f"{self.prefix}/{path}")

    def environments(self) -> list[str]:
        return []  # listing would cost requests; the message names the path instead


def _spec_gitops(args: argparse.Namespace) -> dict[str, Any] | None:
    """deploy.gitops of --spec, read once; None when there is no spec there."""
    if not args.spec.is_file():
        return None
    gitops: dict[str, Any] = with_defaults(load_valid_spec(args.spec).data, spec_schema())["deploy"]["gitops"]
    return gitops


def _gitops_path(args: argparse.Namespace, gitops: dict[str, Any] | None) -> str:
    if args.path:
        return str(args.path).strip("/")
    if gitops is None:
        raise UsageError(f"--path not given and no spec at {args.spec}", "pass --path DIR or --spec SPEC")
    return str(gitops["path"])


def _gitops_dir(args: argparse.Namespace) -> Path:
    if args.dir is not None:
        return Path(args.dir)
    if not args.spec.is_file():
        raise UsageError(f"--dir not given and no spec at {args.spec}", "pass --dir DIR or --spec SPEC")
    return Path(args.spec.parent) / _gitops_path(args, _spec_gitops(args))


def _apply(args: argparse.Namespace) -> tuple[Outcome, str]:
    """The outcome, and the commit made through GitLab ("" for a directory or when nothing changed)."""
    def outcome_for(store: ReleaseStore) -> Outcome:
        if args.command == "promote":
            return promote(store, args.env, args.image_tag, args.traffic, args.shadow)
        return rollback(store, args.env)

    if not args.gitlab_url:
        store = DirectoryStore(_gitops_dir(args))
        outcome = outcome_for(store)
        if outcome.changed:
            store.write(outcome)
        return outcome, ""
    if not args.project:
        raise UserError("--gitlab-url needs --project (the GitOps repository)")
    access = GitLabAccess.from_environment(args.gitlab_url)
    repo = open_gitlab(access, args.project)
    # the spec is read only when it must say the path or the branch, and then once
    gitops = _spec_gitops(args) if not (args.path and args.branch) else None
    prefix = _gitops_path(args, gitops)
    # --branch, else the branch Argo CD tracks (deploy.gitops.branch), else the repository's default
    branch = args.branch or (str(gitops["branch"]) if gitops is not None else repo.default_branch)
    outcomes: list[Outcome] = []

    def plan(snapshot: BranchSnapshot) -> list[Change]:
        outcomes[:] = [outcome_for(SnapshotStore(snapshot, prefix))]
        return [Change(f"{prefix}/{path}", Action.UPDATE if snapshot.blob(f"{prefix}/{path}") else Action.CREATE,
                       data) for path, data in sorted(outcomes[0].files.items())] if outcomes[0].changed else []

    change_set = ChangeSet(plan, lambda _writes: outcomes[0].message + "\n")
    try:
        delivery = deliver(Route(repo, branch), change_set)
    except BackendError as exc:
        raise UserError(access.scrub(str(exc)), "nothing was committed; run it again") from None
    return outcomes[0], delivery.commit or ""


def _report(args: argparse.Namespace, applied: tuple[Outcome, str]) -> int:
    outcome, revision = applied
    r = outcome.release
    if args.format == "json":  # revision: the GitOps commit (ci/mlopsgen-release.sh waits for Argo CD on it)
        emit_json({"env": outcome.env, "changed": outcome.changed, **asdict(r), "revision": revision,
                   "continues": outcome.continues})
    elif not outcome.changed:
        print(f"{outcome.env}: already at {r.image} ({r.traffic}%)")
    elif r.action == "rollback" and outcome.continues:
        print(f"{outcome.env}: traffic back on last known-good {r.image}; once this is applied, run rollback "
              f"again to replace {r.rolled_back} in the spec")
    elif r.action == "rollback":
        print(f"{outcome.env}: rolled back from {r.rolled_back} to last known-good {r.image}")
    elif r.shadow:
        print(f"{outcome.env}: {r.image} shadows {r.replaces} (mirrored traffic, answers not served)")
    else:
        print(f"{outcome.env}: {r.image} at {r.traffic}% (previous: {r.replaces})")
    return EXIT_OK


def run_promote(args: argparse.Namespace) -> int:
    return _report(args, _apply(args))


def run_rollback(args: argparse.Namespace) -> int:
    return _report(args, _apply(args))
