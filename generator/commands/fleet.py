"""`mlopsgen fleet`: regenerate many GitLab repositories, one merge request each."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from generator import __version__
from generator.deliver.backends import BackendError
from generator.deliver.fleet import (
    FleetRun,
    ProjectResult,
    StateFile,
    in_shard,
    parse_shard,
    read_projects_file,
    run_fleet,
)
from generator.deliver.sync import SyncOptions
from generator.deliver.writer import write_atomically
from generator.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_USER_ERROR, UserError
from generator.integrations.gitlab import translated_errors
from generator.integrations.gitlab_fleet import GitLabRepositories, group_projects
from generator.integrations.rate_limit import RateLimitPacer
from generator.integrations.remote import GitLabAccess

BAR = 24


def run(args: argparse.Namespace) -> int:
    if args.blueprint_version and args.blueprint_version != __version__:
        raise UserError(f"--blueprint-version {args.blueprint_version}, but this is mlopsgen {__version__}",
                        f"run it with that version installed: pip install mlopsgen=={args.blueprint_version}")
    if bool(args.group) == bool(args.projects_file):
        raise UserError("give exactly one of --group GROUP and --projects-file FILE")
    shard = parse_shard(args.shard) if args.shard else None
    access = GitLabAccess.from_environment(args.gitlab_url)
    pacer = RateLimitPacer()  # every worker's client spends the one rate limit GitLab reports
    if args.group:
        try:
            with translated_errors(f"group {args.group}", access.token):
                targets = group_projects(access.client(pacer), args.group)
        except BackendError as exc:
            raise UserError(access.scrub(str(exc))) from None
    else:
        targets = read_projects_file(args.projects_file)
    targets = sorted((t for t in targets if in_shard(t.project, shard)), key=lambda t: t.project)
    state = StateFile(None if args.restart and args.state is None else args.state)
    if args.restart:
        state.results.clear()
    fleet = FleetRun(GitLabRepositories(lambda: access.client(pacer), access.token), access.token,
                     SyncOptions(source="mlops.yaml", merge_request_branch=f"mlopsgen/update-{__version__}",
                                 dry_run=args.dry_run, host_lint=args.ci_lint))
    skipped = sum(state.done(t.project) for t in targets)
    print(f"mlopsgen {__version__}: {len(targets)} repositories" + (f" (shard {args.shard})" if shard else "")
          + (f", {skipped} already done (state in {args.state})" if skipped else "")
          + f", {args.concurrency} at a time", file=sys.stderr)
    try:
        results = run_fleet(fleet, targets, state, args.concurrency, Progress(sys.stderr))
    except KeyboardInterrupt:
        print(f"interrupted: finished repositories are saved in {args.state}; run the same command to resume"
              if args.state else "interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    everything = [ProjectResult(**state.results[t.project]) if t.project in state.results else None
                  for t in targets]
    report = {"generator": f"mlopsgen {__version__}", "shard": args.shard,
              "summary": dict(Counter(r.status for r in everything if r)),
              "projects": [r.__dict__ for r in everything if r]}
    if args.report:
        write_atomically(args.report, (json.dumps(report, indent=2) + "\n").encode())
    if args.format == "json":
        print(json.dumps(report, indent=2))
    else:
        _table([r for r in everything if r])
    failed = any(r.status == "failed" for r in results)
    return EXIT_USER_ERROR if failed else EXIT_OK


class Progress:
    """On a terminal, one bar redrawn in place, with counts and an ETA (failures still get a line
    each); otherwise (a CI log, a pipe) one line per repository, in the order they finish."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream, self.clock = stream, clock
        self.live = stream.isatty()
        self.started = clock()
        self.counts: Counter[str] = Counter()

    def __call__(self, result: ProjectResult, done: int, total: int) -> None:
        self.counts[result.status] += 1
        line = f"{result.status:<12} {result.project}"
        if result.merge_request:
            line += f" {result.merge_request}"
        if result.status == "failed":
            line += f": {result.detail}"
        if not self.live:
            print(f"{done:>{len(str(total))}}/{total} {line}", file=self.stream, flush=True)
            return
        if result.status == "failed":
            self.stream.write("\r\033[K" + line + "\n")
        self.stream.write("\r\033[K" + self.bar(done, total) + ("\n" if done == total else ""))
        self.stream.flush()

    def bar(self, done: int, total: int) -> str:
        filled = BAR * done // max(total, 1)
        counts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items()))
        elapsed = self.clock() - self.started
        eta = elapsed / done * (total - done) if done else 0.0
        return (f"[{'#' * filled}{'.' * (BAR - filled)}] {done}/{total} ({counts}) "
                + (f"ETA {_duration(eta)}" if done < total else f"in {_duration(elapsed)}"))


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def _table(results: list[ProjectResult]) -> None:
    width = max([len(r.project) for r in results] + [7])
    print(f"{'project':<{width}}  {'status':<12}  {'files':>5}  detail")
    for r in results:
        print(f"{r.project:<{width}}  {r.status:<12}  {r.files:>5}  {r.merge_request or r.detail}")
    counts = Counter(r.status for r in results)
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no repositories")



