#!/usr/bin/env python3
"""API requests per repository and fleet wall time, against the GitLab emulator from tests/.

Prints, for one repository: requests for an unchanged sync and a changed sync with its merge
request, beside the naive per-file approach (a GET and a PUT/POST per generated file); then a
fleet of N repositories (default 200), changed (spec only: every file new, one merge request each)
and unchanged (spec and rendered files in place): wall time, requests, and the fleet process's
peak RSS (`mlopsgen fleet` runs as a subprocess; the emulator stays in this one).

With --rate-limit R (requests a minute; GitLab.com allows 2,000 authenticated API requests a
minute) the emulator throttles as GitLab does, in windows of --period seconds (default 60; a
shorter window keeps the same rate in a quicker run), and each fleet run is set beside the time
that limit allows for its requests (requests / rate): the ratio shows whether the limit or the
client bounds the run, and 429s counts the requests that ran into the limit anyway.

    python3 benchmarks/api_requests.py [--repos 200] [--concurrency 8] [--rate-limit 2000 [--period 60]]
                                       [--format json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from emulators.gitlab import GitLabEmulator, RateLimit  # noqa: E402

from generator.cli import main  # noqa: E402

TOKEN = "bench-token"
SPEC = (REPO / "examples/fraud-detector/mlops.yaml").read_bytes()


def quiet(*argv: str) -> int:
    with redirect_stdout(StringIO()), redirect_stderr(StringIO()):
        return main(list(argv))


def count(gl: GitLabEmulator, *argv: str) -> int:
    gl.reset_requests()
    code = quiet(*argv)
    if code:
        raise SystemExit(f"mlopsgen {' '.join(argv[:1])} failed with exit {code}")
    return len(gl.requests)


def single_repository(gl: GitLabEmulator, work: Path) -> dict[str, int]:
    gl.create_project("bench/single", files={"mlops.yaml": SPEC})
    spec = work / "mlops.yaml"
    spec.write_bytes(SPEC)
    sync = ["sync", str(spec), "--gitlab-url", gl.url, "--project", "bench/single", "--branch", "main"]
    first = count(gl, *sync)
    unchanged = count(gl, *sync)
    spec.write_bytes(SPEC.replace(b"maxReplicas: 10", b"maxReplicas: 11"))
    changed_mr = count(gl, *sync, "--merge-request")
    unchanged_mr = count(gl, *sync, "--merge-request")  # a regeneration run while that request is open
    spec.write_bytes(SPEC.replace(b"maxReplicas: 10", b"maxReplicas: 12"))
    updated_mr = count(gl, *sync, "--merge-request")
    generated = sum(1 for p in (REPO / "examples/fraud-detector/rendered").rglob("*") if p.is_file())
    return {"generated_files": generated, "first_sync": first, "unchanged": unchanged,
            "changed_with_new_mr": changed_mr, "unchanged_with_open_mr": unchanged_mr,
            "changed_with_open_mr": updated_mr,
            "naive_per_file_changed": 2 * generated}


def rendered_tree(work: Path) -> dict[str, bytes]:
    """The spec and everything mlopsgen renders from it, as a repository holds them after a merge."""
    out = work / "rendered-tree"
    out.mkdir()
    (out / "mlops.yaml").write_bytes(SPEC)
    if quiet("render", str(out / "mlops.yaml"), "--out", str(out)):
        raise SystemExit("render failed")
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def fleet_process(gl: GitLabEmulator, group: str, concurrency: int) -> tuple[float, int]:
    """(seconds, peak RSS in MB) of one `mlopsgen fleet` process over the group."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "GITLAB_TOKEN": TOKEN}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "generator", "fleet", "--gitlab-url", gl.url, "--group", group,
                             "--concurrency", str(concurrency)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"fleet run over {group} failed with exit {proc.returncode}")
    return elapsed, usage.ru_maxrss // 1024  # ru_maxrss is in KiB on Linux


def fleet(gl: GitLabEmulator, work: Path, repos: int, concurrency: int, rate: float | None) -> dict[str, Any]:
    tree = rendered_tree(work)
    for i in range(repos):
        gl.create_project(f"changed/team-{i % 10}/model-{i:04d}", files={"mlops.yaml": SPEC})
        gl.create_project(f"unchanged/team-{i % 10}/model-{i:04d}", files=tree)
    runs: dict[str, Any] = {}
    for label in ("changed", "unchanged"):
        gl.reset_requests()
        throttled_before = gl.rate_limit.throttled if gl.rate_limit else 0
        elapsed, rss = fleet_process(gl, label, concurrency)
        run = {"seconds": round(elapsed, 2), "requests": len(gl.requests),
               "requests_per_repo": round(len(gl.requests) / repos, 2), "peak_rss_mb": rss}
        if rate and gl.rate_limit:
            allowed = len(gl.requests) / rate * 60
            run.update(limit_seconds=round(allowed, 2), ratio_to_limit=round(elapsed / allowed, 3),
                       throttled=gl.rate_limit.throttled - throttled_before)
        runs[label] = run
    return runs


def main_cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate-limit", type=float, metavar="PER_MINUTE",
                        help="throttle the emulator as GitLab does (GitLab.com: 2000)")
    parser.add_argument("--period", type=float, default=60.0, metavar="SECONDS",
                        help="the rate limit's window (default 60, as GitLab's)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args()
    os.environ["GITLAB_TOKEN"] = TOKEN
    with tempfile.TemporaryDirectory(prefix="mlopsgen-api-bench-") as tmp, \
            GitLabEmulator(Path(tmp) / "gitlab", {TOKEN: "maintainer"}) as gl:
        single = single_repository(gl, Path(tmp))
        if args.rate_limit:
            gl.rate_limit = RateLimit(max(int(args.rate_limit * args.period / 60), 1), args.period)
        many = fleet(gl, Path(tmp), args.repos, args.concurrency, args.rate_limit)
    if args.format == "json":
        print(json.dumps({"single_repository": single, "fleet": {"repos": args.repos, "rate_limit": args.rate_limit,
                                                                  "period": args.period, **many}}, indent=2))
        return 0
    print("API requests for one repository (mlopsgen sync --branch main, python-gitlab -> emulator over HTTP)")
    print(f"  generated files                         {single['generated_files']:>4}")
    print(f"  first sync (all files, one commit)      {single['first_sync']:>4}")
    print(f"  unchanged                               {single['unchanged']:>4}   budget <= 3 "
          "(branch, tree, retraining schedule)")
    print(f"  changed, new merge request              {single['changed_with_new_mr']:>4}   "
          "(branch heads, tree, old manifest, commit, merge request, schedule)")
    print(f"  unchanged, its merge request open       {single['unchanged_with_open_mr']:>4}   budget <= 3 "
          "(branch heads, schedule: no commit, no merge-request update)")
    print(f"  changed, merge request already open     {single['changed_with_open_mr']:>4}   (the 409 names it: 1 PUT)")
    print(f"  naive per-file approach, changed        {single['naive_per_file_changed']:>4}   (2 per file)")
    limit = f", rate limit {args.rate_limit:g}/min in {args.period:g} s windows" if args.rate_limit else ""
    print(f"\nfleet of {args.repos} repositories, concurrency {args.concurrency}{limit}:")
    for label, run in many.items():
        line = (f"  {label:<9} {run['seconds']:>7.2f} s  {run['requests']:>6} requests  "
                f"{run['requests_per_repo']:>5} per repo  peak RSS {run['peak_rss_mb']} MB")
        if "limit_seconds" in run:
            line += (f"  (the limit allows {run['limit_seconds']:.2f} s: {run['ratio_to_limit']:.3f}x; "
                     f"{run['throttled']} 429s)")
        print(line)
    print("(the fleet reads mlops.yaml and the tree: 2 requests per unchanged repository, + its merge-request "
          "branch, commit and merge request when changed, + CI lint with --ci-lint; the group listing adds "
          "one per 100 repositories)")
    return 0


if __name__ == "__main__":
    sys.exit(main_cli())
