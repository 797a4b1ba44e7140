#!/usr/bin/env python3
"""How long `mlopsgen init --no-input` takes, beside plain `cookiecutter --no-input` on the same
template with its hooks removed (so the difference is mlopsgen's answer checks plus the
post-generation hook: `mlopsgen schema` and `mlopsgen render` in the new repository).

Every run is a fresh subprocess timed by wall clock; the median of --runs (default 5) is printed.
Usage: python benchmarks/init_speed.py [--runs N] [--format text|json]
This is a script, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = REPO / "blueprints" / "cookiecutter"
ANSWERS = ["name=bench-model", "ci=both", "runtime=kserve"]


def _timed(command: list[str], cwd: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - started


def measure(runs: int) -> dict[str, float | int]:
    init: list[float] = []
    plain: list[float] = []
    with tempfile.TemporaryDirectory(prefix="init-speed-") as tmp:
        work = Path(tmp)
        no_hooks = work / "template"
        shutil.copytree(TEMPLATE, no_hooks, ignore=shutil.ignore_patterns("hooks", "__pycache__", ".ruff_cache"))
        cookiecutter_cli = [sys.executable, "-m", "cookiecutter"]
        for i in range(runs):
            out = work / f"init-{i}"
            init.append(_timed([sys.executable, "-m", "generator", "init", "--no-input", "-o", str(out), *ANSWERS],
                               work))
            out = work / f"plain-{i}"
            plain.append(_timed([*cookiecutter_cli, "--no-input", "-o", str(out), str(no_hooks), *ANSWERS], work))
    init_s, plain_s = statistics.median(init), statistics.median(plain)
    return {"runs": runs, "mlopsgen_init_s": init_s, "cookiecutter_no_hooks_s": plain_s,
            "difference_s": init_s - plain_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args(argv)
    result = measure(args.runs)
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return 0
    print(f"median of {result['runs']} runs, wall clock per scaffolded repository")
    print(f"  mlopsgen init --no-input                    {result['mlopsgen_init_s']:.3f}s")
    print(f"  cookiecutter --no-input (template, no hook) {result['cookiecutter_no_hooks_s']:.3f}s")
    print(f"  difference (answer checks, schema + render in the hook) {result['difference_s']:+.3f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
