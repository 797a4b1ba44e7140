"""Where generated files are committed: a local git repository (the default) or GitLab.

A backend offers a snapshot of a branch (blob ids, reads on demand) and one atomic commit of
many file changes; the GitLab one also merge requests and CI lint. Backends never render.
"""

from __future__ import annotations

from typing import Protocol

from generator.deliver.writer import Change, Snapshot
from generator.frozen import frozen


class BranchSnapshot(Snapshot, Protocol):
    @property
    def commit(self) -> str | None:
        """The commit the snapshot shows; None for an empty repository or a missing branch."""
        ...


@frozen
class BranchHead:
    """A branch's newest commit, as a branch listing shows it."""

    commit: str
    message: str

    @property
    def title(self) -> str:
        return self.message.split("\n", 1)[0]


@frozen
class MergeRequest:
    reference: str  # !iid or a branch name
    url: str
    created: bool  # False: an open one was updated


class Repository(Protocol):
    """One repository on one backend."""

    @property
    def name(self) -> str: ...

    @property
    def default_branch(self) -> str: ...

    def snapshot(self, branch: str) -> BranchSnapshot:
        """The files of a branch; an empty snapshot when the branch or repository is empty."""
        ...

    def snapshot_at(self, commit: str) -> BranchSnapshot:
        """The files of one commit."""
        ...

    def heads(self, *branches: str) -> dict[str, BranchHead]:
        """The head commits of those of these branches that exist, in one request where possible."""
        ...

    def commit(self, *, branch: str, base: BranchSnapshot, message: str, changes: list[Change],
               replace_branch: bool = False) -> str:
        """Apply create/update/delete changes in one atomic commit on branch.

        The changes were planned against base. Without replace_branch, branch is base's branch
        and the commit fails if files it changes were changed after base (nothing is written).
        With replace_branch, branch is mlopsgen's own merge-request branch and is reset to
        base plus these changes. Returns the new commit id.
        """
        ...

    def lint_ci(self, content: str, ref: str) -> list[str] | None:
        """Errors of a .gitlab-ci.yml by the server's CI lint; None when the server has none."""
        ...

    def upsert_merge_request(self, *, source: str, target: str, title: str, description: str) -> MergeRequest:
        """Create the merge request, or update the open one from source to target."""
        ...


class BackendError(Exception):
    """A backend failed in a way the user should hear about; the message is safe to print."""


class ConflictError(BackendError):
    """Someone changed the branch after mlopsgen read it; nothing was written. Read and retry."""
