"""A git repository on disk, written with git plumbing: commits are built in a temporary index
and published with a compare-and-swap `git update-ref`, so a concurrent change to the branch
makes the commit fail instead of being overwritten, and the working tree is never half-written."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from generator.backends import BackendError, BranchSnapshot, ConflictError, MergeRequest
from generator.writer import Action, Change

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # git's well-known empty tree
ZERO = "0" * 40
IDENTITY = {"GIT_AUTHOR_NAME": "mlopsgen", "GIT_AUTHOR_EMAIL": "mlopsgen@users.noreply.invalid",
            "GIT_COMMITTER_NAME": "mlopsgen", "GIT_COMMITTER_EMAIL": "mlopsgen@users.noreply.invalid"}


def git(repo: Path, *args: str, data: bytes | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(["git", "-C", str(repo), *args], input=data, capture_output=True, check=False,
                            env={**os.environ, **(env or {})})
    if result.returncode:
        raise BackendError(f"git {args[0]} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout.decode("utf-8", "surrogateescape")


@dataclass
class RefSnapshot:
    repo: Path
    commit: str | None
    blobs: dict[str, str] = field(default_factory=dict)

    def blob(self, path: str) -> str | None:
        return self.blobs.get(path)

    def read(self, path: str) -> bytes | None:
        blob = self.blobs.get(path)
        if blob is None:
            return None
        return subprocess.run(["git", "-C", str(self.repo), "cat-file", "blob", blob], capture_output=True,
                              check=True).stdout


@dataclass
class LocalRepository:
    path: Path

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def default_branch(self) -> str:
        head = git(self.path, "symbolic-ref", "--quiet", "--short", "HEAD").strip()
        return head or "main"

    def _head(self, branch: str) -> str | None:
        result = subprocess.run(["git", "-C", str(self.path), "rev-parse", "--verify", "--quiet",
                                 f"refs/heads/{branch}^{{commit}}"], capture_output=True, text=True, check=False)
        return result.stdout.strip() or None

    def snapshot(self, branch: str) -> RefSnapshot:
        head = self._head(branch)
        snap = RefSnapshot(self.path, head)
        if head:
            for entry in git(self.path, "ls-tree", "-r", "-z", head).split("\0"):
                if entry:
                    meta, path = entry.split("\t", 1)
                    _mode, kind, blob = meta.split()
                    if kind == "blob":
                        snap.blobs[path] = blob
        return snap

    def commit(self, *, branch: str, base: BranchSnapshot, message: str, changes: list[Change],
               replace_branch: bool = False) -> str:
        old = self._head(branch)
        if not replace_branch and old != base.commit:
            raise ConflictError(f"branch {branch} moved since mlopsgen read it")
        with tempfile.TemporaryDirectory(prefix="mlopsgen-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), **IDENTITY}
            if base.commit:
                git(self.path, "read-tree", base.commit, env=env)
            for change in changes:
                if change.action in (Action.CREATE, Action.UPDATE):
                    blob = git(self.path, "hash-object", "-w", "--stdin", data=change.data).strip()
                    mode = "100755" if change.executable else "100644"
                    git(self.path, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{change.path}", env=env)
                elif change.action is Action.DELETE:
                    git(self.path, "update-index", "--force-remove", "--", change.path, env=env)
            tree = git(self.path, "write-tree", env=env).strip()
        parents = ["-p", base.commit] if base.commit else []
        commit = git(self.path, "commit-tree", tree, *parents, "-F", "-", data=message.encode(), env=IDENTITY).strip()
        try:  # compare-and-swap: fails if the branch moved meanwhile
            git(self.path, "update-ref", "-m", "mlopsgen", f"refs/heads/{branch}", commit, old or ZERO)
        except BackendError:
            raise ConflictError(f"branch {branch} changed while mlopsgen was committing") from None
        self._refresh_worktree(branch, old, commit)
        return commit

    def _refresh_worktree(self, branch: str, old: str | None, new: str) -> None:
        """When the branch is checked out, bring the working tree along (keeping local edits)."""
        bare = git(self.path, "rev-parse", "--is-bare-repository").strip() == "true"
        if bare or self.default_branch != branch:
            return
        # an unborn branch moves from the empty tree: files already staged stay staged
        git(self.path, "read-tree", "-m", "-u", old or EMPTY_TREE, new)

    def lint_ci(self, content: str, ref: str) -> list[str] | None:
        return None  # no server: the verify stage already checked it against GitLab's schema

    def upsert_merge_request(self, *, source: str, target: str, title: str, description: str) -> MergeRequest:
        # a local repository has no merge requests: the branch is the proposal
        return MergeRequest(source, f"{self.path} (branch {source}: merge it into {target})", created=True)
