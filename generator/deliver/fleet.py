"""Regenerate many repositories: bounded concurrency, one failure never stops the others, a state
file to resume after an interruption, deterministic shards for parallel CI jobs."""

from __future__ import annotations

import hashlib
import json
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from generator import __version__
from generator.deliver.backends import BackendError, BranchSnapshot, Repository
from generator.deliver.sync import Destination, SyncOptions, sync
from generator.deliver.writer import write_atomically
from generator.errors import UserError, VerificationError
from generator.frozen import frozen

SPEC_FILE = "mlops.yaml"
DONE = ("changed", "unchanged", "skipped", "would-change")


@frozen
class Target:
    project: str  # group/repo
    branch: str | None  # default branch when known (group listings say it), else asked for


@dataclass
class ProjectResult:
    project: str
    status: str  # changed | unchanged | would-change | skipped | failed
    detail: str = ""
    merge_request: str = ""
    files: int = 0
    seconds: float = 0.0
    version: str = __version__


def in_shard(project: str, shard: tuple[int, int] | None) -> bool:
    """Stable across runs, machines and list order: a hash of the project path."""
    if shard is None:
        return True
    k, n = shard
    return int(hashlib.sha256(project.encode()).hexdigest(), 16) % n == k - 1


def parse_shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise UserError(f"--shard {text!r} is not K/N", "for example --shard 2/8 (the second of eight)") from None
    if not 1 <= k <= n:
        raise UserError(f"--shard {text}: K must be between 1 and N")
    return k, n


def read_projects_file(path: Path) -> list[Target]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    targets = []
    for number, line in enumerate(lines, 1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) > 2 or "/" not in words[0]:
            raise UserError(f"{path}:{number}: expected 'group/project [branch]', got {line.strip()!r}")
        targets.append(Target(words[0], words[1] if len(words) == 2 else None))
    return targets


class StateFile:
    """Results so far, saved after every project, so a rerun skips what is done."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.results: dict[str, dict[str, Any]] = {}
        if path is not None and path.is_file():
            try:
                self.results = json.loads(path.read_text(encoding="utf-8")).get("results", {})
            except (ValueError, AttributeError):
                raise UserError(f"{path} is not a fleet state file", "delete it to start over") from None

    def done(self, project: str) -> bool:
        saved = self.results.get(project)
        return bool(saved and saved.get("status") in DONE and saved.get("version") == __version__)

    def record(self, result: ProjectResult) -> None:
        with self.lock:
            self.results[result.project] = asdict(result)
            if self.path is not None:
                body = {"generator": f"mlopsgen {__version__}", "results": self.results}
                write_atomically(self.path, (json.dumps(body, indent=2, sort_keys=True) + "\n").encode())


class FleetRepository(Repository, Protocol):
    """A repository a fleet regenerates: it reads the spec and its commit in one request, and takes
    the tree of that commit with the spec already known."""

    def read_file(self, path: str, ref: str) -> tuple[bytes, str] | None: ...

    def snapshot_at(self, commit: str, known: dict[str, bytes] | None = None) -> BranchSnapshot: ...


# a target's repository and the branch to regenerate (its default branch unless the target names one)
OpenRepository = Callable[[Target], tuple[FleetRepository, str]]

# One render at a time: rendering is pure Python (the GIL runs one thread anyway), and workers
# rendering side by side each grow their own allocator arena; the other workers wait on GitLab.
_RENDERING = threading.Lock()


@dataclass
class FleetRun:
    open_repository: OpenRepository  # called from worker threads
    secret: str
    options: SyncOptions
    spec_file: str = SPEC_FILE

    def update(self, target: Target) -> ProjectResult:
        started = time.monotonic()
        try:
            result = self._update(target)
        except (UserError, BackendError) as exc:
            text = exc.message if isinstance(exc, UserError) else str(exc)
            result = ProjectResult(target.project, "failed", text.replace(self.secret, "***"))
        except Exception as exc:  # noqa: BLE001 - one broken repository must not stop the fleet
            result = ProjectResult(target.project, "failed", f"{type(exc).__name__}: {exc}".replace(self.secret, "***"))
        result.seconds = round(time.monotonic() - started, 3)
        return result

    def _update(self, target: Target) -> ProjectResult:
        from generator.render.engine import build

        repo, branch = self.open_repository(target)
        found = repo.read_file(self.spec_file, branch)
        if found is None:
            return ProjectResult(target.project, "skipped", f"no {self.spec_file} on {branch}")
        content, commit = found
        with tempfile.TemporaryDirectory(prefix="mlopsgen-fleet-") as tmp:
            spec_path = Path(tmp) / self.spec_file
            spec_path.write_bytes(content)
            try:
                with _RENDERING:
                    rendered = build(spec_path, Path(tmp))
            except UserError as exc:  # a VerificationError: a valid spec mlopsgen failed to render, its bug
                detail = exc.format().replace(str(spec_path), f"{target.project}:{self.spec_file}")
                kind = "mlopsgen bug" if isinstance(exc, VerificationError) else "invalid spec"
                return ProjectResult(target.project, "failed", f"{kind}: {detail}")
        base = repo.snapshot_at(commit, known={self.spec_file: content})
        outcome = sync(Destination(repo, branch, rendered.files, rendered.provenance), self.options, base=base)
        mr = outcome.merge_request
        return ProjectResult(target.project, outcome.status, "", mr.url if mr else "", len(outcome.changes))


def run_fleet(run: FleetRun, targets: Iterable[Target], state: StateFile, concurrency: int,
              progress: Callable[[ProjectResult, int, int], None]) -> list[ProjectResult]:
    todo = [t for t in targets if not state.done(t.project)]
    total, results = len(todo), list[ProjectResult]()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        pending: set[Future[ProjectResult]] = set()
        queue = iter(todo)
        try:
            for target in queue:  # keep at most `concurrency` in flight, so an interrupt loses little
                pending.add(pool.submit(run.update, target))
                if len(pending) >= concurrency:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        results.append(_finish(future, state, progress, len(results) + 1, total))
            for future in list(pending):
                results.append(_finish(future, state, progress, len(results) + 1, total))
            pending.clear()
        except KeyboardInterrupt:
            for future in pending:
                future.cancel()
            raise
    return results


def _finish(future: Future[ProjectResult], state: StateFile, progress: Callable[[ProjectResult, int, int], None],
            done: int, total: int) -> ProjectResult:
    result = future.result()
    state.record(result)
    progress(result, done, total)
    return result
