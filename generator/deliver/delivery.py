"""Deliver one change set to one branch of one repository: one atomic commit or none, straight to
the branch or through exactly one merge request, re-planned and retried when someone pushes to
the branch meanwhile. sync, fleet, propose, promote and rollback all deliver through here.

A merge request's branch belongs to mlopsgen: each delivery replaces it with one commit on top of
the target branch, whose trailers say what it holds (the target commit it was planned on, the
change set's fingerprint, a digest of the changes). A rerun that would propose the same thing
therefore makes no commit and no merge-request update: from the two branch heads alone when the
target has not moved, from the target's tree when it has.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from generator.deliver.backends import BranchHead, BranchSnapshot, ConflictError, MergeRequest, Repository
from generator.deliver.writer import WRITES, Change
from generator.errors import UserError
from generator.frozen import frozen

ATTEMPTS = 3  # re-read and re-plan when the branch moved under us
BASE, FINGERPRINT, CHANGES = "Mlopsgen-Base", "Mlopsgen-Fingerprint", "Mlopsgen-Changes"


@frozen
class ChangeSet:
    """What to deliver, planned against whatever the target branch holds when it is read."""

    plan: Callable[[BranchSnapshot], list[Change]]  # the writes (create/update/delete) against that snapshot
    message: Callable[[list[Change]], str]  # the commit message for those writes
    # everything the writes depend on besides the target's tree (the rendered files, say): equal
    # fingerprints on an unmoved target mean equal writes, without listing the tree. "" = unknown.
    fingerprint: str = ""
    before_commit: Callable[[list[Change], str], None] | None = None  # last check of the writes (CI lint)


@frozen
class Proposal:
    """A merge request to open or keep current: its source branch, title and description."""

    branch: str
    title: Callable[[list[Change]], str]  # of the writes, like the description
    describe: Callable[[list[Change]], str]


@frozen
class Route:
    """Where a change set goes: a repository, the branch it must end up on, and how."""

    repository: Repository
    branch: str
    proposal: Proposal | None = None  # None: commit straight to the branch


@dataclass
class Delivery:
    repository: str
    branch: str
    status: str  # changed | unchanged | would-change
    changes: list[Change] = field(default_factory=list)
    commit: str | None = None
    merge_request: MergeRequest | None = None
    note: str = ""  # why nothing was committed, when that is not obvious
    base: BranchSnapshot | None = field(default=None, repr=False)  # what the changes were planned against

    def to_json(self) -> dict[str, object]:
        mr = self.merge_request
        return {"repository": self.repository, "branch": self.branch, "status": self.status, "commit": self.commit,
                "merge_request": None if mr is None else {"reference": mr.reference, "url": mr.url,
                                                          "created": mr.created},
                "changes": [{"path": c.path, "action": c.action.value} for c in self.changes],
                "note": self.note}


def deliver(route: Route, change_set: ChangeSet, *, dry_run: bool = False, base: BranchSnapshot | None = None,
            force: bool = False) -> Delivery:
    """base: the target branch as the caller already read it (a fleet reads the spec from it).
    force: replace a merge-request branch even when it holds commits mlopsgen did not make."""
    if route.proposal is None:
        return _commit_to_branch(route, change_set, dry_run, base)
    return _propose(route, route.proposal, change_set, dry_run, base, force)


def _commit_to_branch(route: Route, change_set: ChangeSet, dry_run: bool, base: BranchSnapshot | None) -> Delivery:
    repo, branch = route.repository, route.branch
    for attempt in range(ATTEMPTS):
        snapshot = base if base is not None and attempt == 0 else repo.snapshot(branch)
        writes = _writes(change_set, snapshot)
        if not writes:
            return Delivery(repo.name, branch, "unchanged")
        if dry_run:
            return Delivery(repo.name, branch, "would-change", writes, base=snapshot)
        if change_set.before_commit is not None:
            change_set.before_commit(writes, branch)
        try:
            commit = repo.commit(branch=branch, base=snapshot, message=change_set.message(writes), changes=writes)
        except ConflictError:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        return Delivery(repo.name, branch, "changed", writes, commit, base=snapshot)
    raise AssertionError("unreachable")


def _propose(route: Route, proposal: Proposal, change_set: ChangeSet, dry_run: bool, base: BranchSnapshot | None,
             force: bool) -> Delivery:
    repo, target = route.repository, route.branch
    if base is None:  # both heads in one listing; an unmoved target may settle it without the tree
        heads = repo.heads(target, proposal.branch)
        source, target_head = heads.get(proposal.branch), heads.get(target)
        held = _held(repo.name, proposal.branch, source, force)
        if held is not None and change_set.fingerprint and target_head is not None \
                and held.base == target_head.commit and held.fingerprint == change_set.fingerprint:
            return Delivery(repo.name, target, "unchanged", note=f"{proposal.branch} already proposes these changes")
        snapshot = repo.snapshot_at(target_head.commit) if target_head is not None else repo.snapshot(target)
    else:  # the caller read the target already: its tree decides first, the proposal's head only if needed
        snapshot, held = base, None
    writes = _writes(change_set, snapshot)
    if not writes:
        return Delivery(repo.name, target, "unchanged")
    if base is not None:
        held = _held(repo.name, proposal.branch, repo.heads(proposal.branch).get(proposal.branch), force)
    digest = changes_digest(writes)
    if held is not None and held.changes == digest:
        return Delivery(repo.name, target, "unchanged", note=f"{proposal.branch} already proposes these changes")
    if dry_run:
        return Delivery(repo.name, target, "would-change", writes, base=snapshot)
    if change_set.before_commit is not None:
        change_set.before_commit(writes, target)
    message = change_set.message(writes).rstrip("\n") + "\n\n" + "\n".join(
        (f"{BASE}: {snapshot.commit or 'none'}", f"{FINGERPRINT}: {change_set.fingerprint or 'none'}",
         f"{CHANGES}: {digest}")) + "\n"
    commit = repo.commit(branch=proposal.branch, base=snapshot, message=message, changes=writes, replace_branch=True)
    mr = repo.upsert_merge_request(source=proposal.branch, target=target, title=proposal.title(writes),
                                   description=proposal.describe(writes))
    return Delivery(repo.name, target, "changed", writes, commit, mr, base=snapshot)


def _held(repository: str, branch: str, head: BranchHead | None, force: bool) -> _Held | None:
    """What the merge-request branch holds; refuses a branch whose head mlopsgen did not make."""
    if head is None:
        return None
    held = _Held.parse(head)
    if held is None and not force:
        raise UserError(f"{repository}: branch {branch} holds a commit mlopsgen did not make "
                        f"({head.commit[:12]}: {head.title!r}); mlopsgen replaces that branch on every run, "
                        "which would drop it", f"merge or move that work to another branch, or delete {branch}; "
                        "--force replaces it anyway")
    return held


def _writes(change_set: ChangeSet, snapshot: BranchSnapshot) -> list[Change]:
    return [c for c in change_set.plan(snapshot) if c.action in WRITES]


def changes_digest(writes: list[Change]) -> str:
    """Of paths, actions, modes and contents: equal digests, equal proposals."""
    digest = hashlib.sha256()
    for change in sorted(writes, key=lambda c: c.path):
        digest.update(f"{change.action.value} {'755' if change.executable else '644'} {change.path}\0".encode())
        digest.update(hashlib.sha256(change.data).digest())
    return digest.hexdigest()


def fingerprint_of(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(b"%d\0" % len(data) + data)
    return digest.hexdigest()


@frozen
class _Held:
    """What mlopsgen's merge-request branch holds, from its head commit's trailers."""

    base: str
    fingerprint: str
    changes: str

    @classmethod
    def parse(cls, head: BranchHead) -> _Held | None:
        trailers: dict[str, str] = {}
        for line in head.message.splitlines():
            key, sep, value = line.partition(": ")
            if sep and key in (BASE, FINGERPRINT, CHANGES):
                trailers[key] = value.strip()
        if len(trailers) != 3:
            return None
        base = "" if trailers[BASE] == "none" else trailers[BASE]
        fingerprint = "" if trailers[FINGERPRINT] == "none" else trailers[FINGERPRINT]
        return cls(base, fingerprint, trailers[CHANGES])
