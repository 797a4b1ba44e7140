"""Bring a repository's generated files up to date: the change set `sync` and `fleet` deliver
(generator.deliver.delivery commits it, straight or through one merge request).

The spec travels with the files it generated, so that no commit pairs files with another spec: a
spec that differs from the branch's is committed (or proposed) together with its outputs. Where
the spec's checkout tells which version of the spec it started from, a branch whose spec has moved
on since is refused instead, so a stale checkout never reverts somebody's newer spec.
"""

from __future__ import annotations

from generator import __version__
from generator.artifacts import Provenance, RenderedFile
from generator.deliver.backends import BranchSnapshot, Repository
from generator.deliver.delivery import ChangeSet, Delivery, Proposal, Route, deliver, fingerprint_of
from generator.deliver.writer import MANIFEST, WRITES, Action, Change, blob_id, plan_changes, refuse_conflicts
from generator.errors import UserError
from generator.frozen import frozen
from generator.render.targets.ci import CI_TARGETS


@frozen
class SpecFile:
    """The spec as the repository must hold it beside its generated files."""

    path: str  # inside the repository
    data: bytes
    started_from: str | None = None  # blob id of the spec the checkout started from; None: unknown


@frozen
class Destination:
    """A repository, the branch its files belong on, and the rendered files that belong there."""

    repository: Repository
    branch: str
    files: list[RenderedFile]
    provenance: Provenance  # recorded in the destination's manifest
    manifest_path: str = MANIFEST
    spec: SpecFile | None = None


@frozen
class SyncOptions:
    source: str  # the spec, as generated files name it
    merge_request_branch: str | None = None  # None: commit straight to the destination's branch
    dry_run: bool = False
    force: bool = False  # overwrite hand edits (and a merge-request branch holding others' commits)
    host_lint: bool = True  # ask the CI host to lint a changed pipeline file before committing (a request)


def sync(dest: Destination, options: SyncOptions, base: BranchSnapshot | None = None) -> Delivery:
    proposal = None
    if options.merge_request_branch:
        proposal = Proposal(options.merge_request_branch, lambda _writes: merge_request_title(options.source),
                            lambda writes: merge_request_description(options.source, writes, dest.files))
    route = Route(dest.repository, dest.branch, proposal)
    return deliver(route, generated_files(dest, options), dry_run=options.dry_run, base=base, force=options.force)


def generated_files(dest: Destination, options: SyncOptions) -> ChangeSet:
    repo = dest.repository

    def plan(snapshot: BranchSnapshot) -> list[Change]:
        changes = plan_changes(snapshot, dest.files, dest.provenance, dest.manifest_path)
        refuse_conflicts(changes, snapshot, force=options.force, where=f"{repo.name}: ")
        writes = [c for c in changes if c.action in WRITES]
        spec = _spec_change(repo.name, dest.branch, dest.spec, snapshot)
        return writes if spec is None else [spec, *writes]

    parts: list[bytes | str] = [__version__, options.source, dest.manifest_path]
    for f in dest.files:
        parts += [f.path, "x" if f.executable else "-", "s" if f.seed else "-", f.data]
    if dest.spec is not None:
        parts += [dest.spec.path, dest.spec.data]
    return ChangeSet(plan, lambda writes: commit_message(options.source, writes), fingerprint_of(*parts),
                     (lambda writes, ref: _lint(repo, writes, ref)) if options.host_lint else None)


def _spec_change(repository: str, branch: str, spec: SpecFile | None, snapshot: BranchSnapshot) -> Change | None:
    """The spec's own change, when the commit must carry it."""
    if spec is None:
        return None
    current = snapshot.blob(spec.path)
    if current == blob_id(spec.data):
        return None
    if current is not None and spec.started_from is not None and current != spec.started_from:
        raise UserError(f"{repository}: {spec.path} on {branch} has changed since this checkout's version of it; "
                        "committing the rendered files (and this spec) would revert that change",
                        f"pull {branch}, merge your changes to {spec.path}, then sync again")
    action = Action.CREATE if current is None else Action.UPDATE
    return Change(spec.path, action, spec.data)


def _lint(repo: Repository, writes: list[Change], ref: str) -> None:
    """Before committing: the CI host's lint of each pipeline file a CI target says it lints."""
    for target in CI_TARGETS:
        ci = next((c for c in writes if c.path == target.pipeline_file and c.action is not Action.DELETE), None)
        if ci is None or not target.host_lint:
            continue
        errors = repo.lint_ci(ci.data.decode("utf-8"), ref)
        if errors:
            raise UserError(f"{repo.name}: {target.host_lint} rejected the rendered {target.pipeline_file}: "
                            + "; ".join(errors),
                            "nothing was committed; this is a bug in mlopsgen's blueprints, please report it")


def commit_message(source: str, writes: list[Change]) -> str:
    lines = [f"mlopsgen {__version__}: regenerate from {source}", ""]
    lines += [f"{c.action.value} {c.path}" for c in writes]
    return "\n".join(lines) + "\n"


def merge_request_title(source: str) -> str:
    return f"mlopsgen {__version__}: regenerate pipelines and manifests from {source}"


def merge_request_description(source: str, writes: list[Change], files: list[RenderedFile]) -> str:
    rows = "\n".join(f"| {c.action.value} | `{c.path}` |" for c in writes)
    text = (f"Generated by mlopsgen {__version__} from `{source}`. Do not edit these files by hand: change "
            f"`{source}` and let the pipeline regenerate them.\n\n"
            f"### Changed files ({len(writes)})\n\n| action | file |\n| --- | --- |\n{rows}\n")
    for target in CI_TARGETS:
        diagram = target.pipeline_diagram(files)
        if diagram is not None:
            text += f"\n### Pipeline\n\n```mermaid\n{diagram}\n```\n"
    return text
