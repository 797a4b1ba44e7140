"""A git repository on disk, written with git plumbing: commits are built in a temporary index
and published with a compare-and-swap `git update-ref`, so a concurrent change to the branch
makes the commit fail instead of being overwritten, and the working tree is never half-written."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from generator.deliver.backends import BackendError, BranchHead, BranchSnapshot, ConflictError, MergeRequest
from generator.deliver.writer import WRITES, Action, Change, blob_id, write_atomically

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

    def heads(self, *branches: str) -> dict[str, BranchHead]:
        found = {}
        for branch in branches:
            head = self._head(branch)
            if head is not None:
                found[branch] = BranchHead(head, git(self.path, "log", "-1", "--format=%B", head))
        return found

    def snapshot(self, branch: str) -> RefSnapshot:
        head = self._head(branch)
        return self.snapshot_at(head) if head else RefSnapshot(self.path, None)

    def snapshot_at(self, head: str) -> RefSnapshot:
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
        writes = [c for c in changes if c.action in WRITES]
        blobs = {c.path: git(self.path, "hash-object", "-w", "--stdin", data=c.data).strip()
                 for c in writes if c.action is not Action.DELETE}
        checked_out = self._checked_out(branch)
        if checked_out:
            self._refuse_uncommitted(writes, base, blobs)
        with tempfile.TemporaryDirectory(prefix="mlopsgen-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index"), **IDENTITY}
            if base.commit:
                git(self.path, "read-tree", base.commit, env=env)
            self._stage(writes, blobs, env)
            tree = git(self.path, "write-tree", env=env).strip()
        parents = ["-p", base.commit] if base.commit else []
        commit = git(self.path, "commit-tree", tree, *parents, "-F", "-", data=message.encode(), env=IDENTITY).strip()
        try:  # compare-and-swap: fails if the branch moved meanwhile
            git(self.path, "update-ref", "-m", "mlopsgen", f"refs/heads/{branch}", commit, old or ZERO)
        except BackendError:
            raise ConflictError(f"branch {branch} changed while mlopsgen was committing") from None
        if checked_out:  # bring the working tree and the index along, path by path
            for change in writes:
                target = self.path / change.path
                if change.action is Action.DELETE:
                    target.unlink(missing_ok=True)
                else:
                    write_atomically(target, change.data, change.executable)
            self._stage(writes, blobs, None)
            subprocess.run(["git", "-C", str(self.path), "update-index", "-q", "--refresh"], capture_output=True,
                           check=False)
        return commit

    def _stage(self, writes: list[Change], blobs: dict[str, str], env: dict[str, str] | None) -> None:
        for change in writes:
            if change.action is Action.DELETE:
                git(self.path, "update-index", "--force-remove", "--", change.path, env=env)
            else:
                mode = "100755" if change.executable else "100644"
                git(self.path, "update-index", "--add", "--cacheinfo", f"{mode},{blobs[change.path]},{change.path}",
                    env=env)

    def _checked_out(self, branch: str) -> bool:
        if git(self.path, "rev-parse", "--is-bare-repository").strip() == "true":
            return False
        head = subprocess.run(["git", "-C", str(self.path), "symbolic-ref", "--quiet", "HEAD"], capture_output=True,
                              text=True, check=False).stdout.strip()
        return head == f"refs/heads/{branch}"

    def _refuse_uncommitted(self, writes: list[Change], base: BranchSnapshot, blobs: dict[str, str]) -> None:
        """A path the commit changes may hold, in the index and in the working tree, only what the
        branch held or what the commit brings: anything else is someone's uncommitted work."""
        paths = [c.path for c in writes]
        staged: dict[str, str] = {}
        for entry in git(self.path, "ls-files", "-s", "-z", "--", *paths).split("\0"):
            if entry:
                meta, path = entry.split("\t", 1)
                staged[path] = meta.split()[1]
        dirty = []
        for change in writes:
            allowed = {base.blob(change.path), blobs.get(change.path)}
            on_disk = self.path / change.path
            worktree = blob_id(on_disk.read_bytes()) if on_disk.is_file() else None
            if staged.get(change.path) not in allowed or worktree not in allowed:
                dirty.append(change.path)
        if dirty:
            raise BackendError(f"{self.path}: uncommitted changes to {', '.join(dirty)} would be overwritten by the "
                               "commit; commit, stash or discard them (git checkout -- PATH) first")

    def lint_ci(self, content: str, ref: str) -> list[str] | None:
        return None  # no server: the verify stage already checked it against GitLab's schema

    def upsert_merge_request(self, *, source: str, target: str, title: str, description: str) -> MergeRequest:
        # a local repository has no merge requests: the branch is the proposal
        return MergeRequest(source, f"{self.path} (branch {source}: merge it into {target})", created=True)
