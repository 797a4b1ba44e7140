#!/usr/bin/env python3
"""API requests per repository and fleet wall time, against the GitLab emulator from tests/.

Prints, for one repository: requests for an unchanged sync and a changed sync with its merge
request, beside the naive per-file approach (a GET and a PUT/POST per generated file); then a
fleet of N repositories (default 200): wall time and requests in total.

    python3 benchmarks/api_requests.py [--repos 200] [--concurrency 8] [--format json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from emulators.gitlab import GitLabEmulator  # noqa: E402

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


def fleet(gl: GitLabEmulator, repos: int, concurrency: int) -> dict[str, float]:
    for i in range(repos):
        gl.create_project(f"fleet/team-{i % 10}/model-{i:03d}", files={"mlops.yaml": SPEC})
    runs = {}
    for label in ("changed", "unchanged"):
        gl.reset_requests()
        started = time.perf_counter()
        code = quiet("fleet", "--gitlab-url", gl.url, "--group", "fleet", "--concurrency", str(concurrency))
        elapsed = time.perf_counter() - started
        if code:
            raise SystemExit(f"fleet run failed with exit {code}")
        runs[label] = {"seconds": round(elapsed, 2), "requests": len(gl.requests),
                       "requests_per_repo": round(len(gl.requests) / repos, 2)}
        if label == "changed":  # merge every proposal so the second run finds nothing to do
            for i in range(repos):
                name = f"fleet/team-{i % 10}/model-{i:03d}"
                gl.commit_directly(name, "main", _branch_files(gl, name), "merge")
    return runs


def _branch_files(gl: GitLabEmulator, name: str) -> dict[str, bytes | None]:
    import subprocess

    git = ["git", "--git-dir", str(gl.repo_path(name))]
    paths = subprocess.run([*git, "ls-tree", "-r", "--name-only", "mlopsgen/update-0.1.0"], capture_output=True,
                           text=True, check=True).stdout.split()
    return {p: subprocess.run([*git, "show", f"mlopsgen/update-0.1.0:{p}"], capture_output=True,
                              check=True).stdout for p in paths}


def main_cli() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args()
    os.environ["GITLAB_TOKEN"] = TOKEN
    with tempfile.TemporaryDirectory(prefix="mlopsgen-api-bench-") as tmp, \
            GitLabEmulator(Path(tmp) / "gitlab", {TOKEN: "maintainer"}) as gl:
        single = single_repository(gl, Path(tmp))
        many = fleet(gl, args.repos, args.concurrency)
    if args.format == "json":
        print(json.dumps({"single_repository": single, "fleet": {"repos": args.repos, **many}}, indent=2))
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
    print(f"\nfleet of {args.repos} repositories, concurrency {args.concurrency}:")
    for label, run in many.items():
        print(f"  {label:<9} {run['seconds']:>7.2f} s  {run['requests']:>6} requests  "
              f"{run['requests_per_repo']:>5} per repo")
    print("(the fleet reads mlops.yaml and the tree: 2 requests per unchanged repository, "
          "+ commit and merge request when changed, + CI lint when .gitlab-ci.yml changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main_cli())
