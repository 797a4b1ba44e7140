#!/usr/bin/env python3
"""How long a cold `mlopsgen render` / `validate` / `check` takes, end to end.

Every measurement is a fresh `python -m generator ...` subprocess (interpreter start, imports,
spec load, render, write), timed by wall clock from this script: that is what a developer or a
pre-commit hook waits for. For comparison, `cookiecutter --no-input` renders a throwaway template
with the same files and bytes as the example's rendered output. Also reports whether the three
commands import the optional clients (python-gitlab, jenkinsapi, cookiecutter) and whether the
spec is parsed with libyaml's C loader.

Usage: python benchmarks/render_speed.py [--runs N] [--format text|json] [--example NAME ...]
This is a script, not a test: it prints figures and exits 0 whether or not the target is met.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
TARGET_S = 0.3  # wall clock per command on a 2-core machine
OPTIONAL_CLIENTS = ("gitlab", "jenkinsapi", "cookiecutter")  # top-level module names

# Runs one mlopsgen command in-process like `python -m generator`, counting which YAML loaders
# get instantiated, then prints one marker line with the optional clients that were imported.
IMPORT_PROBE = r"""
import json, runpy, sys
import yaml
counts = {"c": 0, "python": 0}
def wrap(cls, key):
    orig = cls.__init__
    def init(self, *a, **k):
        counts[key] += 1
        orig(self, *a, **k)
    cls.__init__ = init
for name in ("CSafeLoader", "CLoader", "CFullLoader", "CBaseLoader"):
    if hasattr(yaml, name):
        wrap(getattr(yaml, name), "c")
for name in ("SafeLoader", "Loader", "FullLoader", "BaseLoader"):
    wrap(getattr(yaml, name), "python")
clients = set(sys.argv[1].split(","))
sys.argv = ["mlopsgen", *sys.argv[2:]]
code = 0
try:
    runpy.run_module("generator", run_name="__main__", alter_sys=True)
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
found = sorted(m for m in sys.modules if m.split(".")[0] in clients)
print("@@PROBE@@" + json.dumps({"imported": found, "exit": code, "modules": len(sys.modules),
                                 "yaml_loaders": counts}), flush=True)
"""


# Renders distinct specs in one process through generator.render.engine.build (what `fleet` calls
# per repository): the examples, each under several new model names, so no cache sees a spec twice;
# the steady state of a fleet's process, after a warm-up that compiled every schema.
IN_PROCESS = r"""
import json, sys, tempfile, time
from pathlib import Path
import yaml
from generator.render.engine import build
from generator.schemas import PRUNED_CHECKS
specs, count = [Path(p) for p in sys.argv[2:]], int(sys.argv[1])
warmup = len(specs) * (PRUNED_CHECKS + 1)
tmp = Path(tempfile.mkdtemp())
paths = []
for i in range(warmup + count):
    data = yaml.safe_load(specs[i % len(specs)].read_text(encoding="utf-8"))
    data["metadata"]["name"] = f"{data['metadata']['name']}-{i}"
    path = tmp / f"spec-{i}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    paths.append(path)
for path in paths[:warmup]:  # pay the imports, template and schema compiling (a schema is compiled
    build(path, tmp)         # whole at its PRUNED_CHECKS + 1st check: each example that many times)
started = time.perf_counter()
files = sum(len(build(path, tmp).files) for path in paths[warmup:])
elapsed = time.perf_counter() - started
print(json.dumps({"specs": count, "files": files, "seconds": elapsed, "specs_per_s": count / elapsed}))
"""
LIBRARIES = "import yaml, jinja2, jsonschema_rs"
TARGETS = {"check_vs_import_yaml": 3.0, "cookiecutter_vs_render": 3.0, "in_process_specs_per_s": 200.0}


@dataclass
class Timing:
    example: str
    tool: str  # "mlopsgen" or "cookiecutter"
    command: str  # render / validate / check
    target_dir: str  # "empty" or "populated" (the unchanged path) or "-"
    runs: int
    median_s: float
    min_s: float
    exit_codes: list[int]
    files: int
    bytes: int


_PYCACHE: list[str] = []  # set by run(): where the subprocesses keep their .pyc files


def env() -> dict[str, str]:
    e = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    # .pyc files as after a pip install, but in the temp dir: the repo and site-packages stay untouched
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    if _PYCACHE:
        e["PYTHONPYCACHEPREFIX"] = _PYCACHE[0]
    return e


def timed(cmd: Sequence[str], cwd: Path = REPO) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=cwd, env=env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, proc.returncode


def mlopsgen(*args: str) -> list[str]:
    return [sys.executable, "-m", "generator", *args]


def tree_size(root: Path) -> tuple[int, int]:
    files = [p for p in root.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def measure(example: str, tool: str, command: str, target: str, runs: int,
            make_cmd: Any, prepare: Any = None, size: tuple[int, int] = (0, 0)) -> Timing:
    """make_cmd(i) -> argv; prepare(i), untimed, runs before each timed run."""
    times, codes = [], []
    for i in range(runs):
        if prepare:
            prepare(i)
        t, rc = timed(make_cmd(i))
        times.append(t)
        codes.append(rc)
    return Timing(example, tool, command, target, runs, statistics.median(times), min(times),
                  sorted(set(codes)), *size)


def bench_mlopsgen(name: str, spec: Path, tmp: Path, runs: int) -> tuple[list[Timing], Path]:
    results = []
    empty_root = tmp / "empty"

    def fresh_out(i: int) -> None:
        shutil.rmtree(empty_root, ignore_errors=True)
        empty_root.mkdir()

    results.append(measure(name, "mlopsgen", "render", "empty", runs,
                           lambda i: mlopsgen("render", str(spec), "--out", str(empty_root / "out")),
                           prepare=fresh_out))
    populated = tmp / "populated"
    subprocess.run(mlopsgen("render", str(spec), "--out", str(populated)), cwd=REPO, env=env(),
                   check=True, capture_output=True)
    size = tree_size(populated)
    results[0].files, results[0].bytes = size
    results.append(measure(name, "mlopsgen", "render", "populated", runs,
                           lambda i: mlopsgen("render", str(spec), "--out", str(populated)), size=size))
    results.append(measure(name, "mlopsgen", "validate", "-", runs,
                           lambda i: mlopsgen("validate", str(spec)), size=size))
    # against the tree just rendered by this generator, so the timing is the clean (exit 0) path
    results.append(measure(name, "mlopsgen", "check", "populated", runs,
                           lambda i: mlopsgen("check", str(spec), "--dir", str(populated)), size=size))
    return results, populated


def model_name(spec: Path) -> str:
    import yaml

    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    return str(data["metadata"]["name"])


def raw(text: str) -> str:
    """Template text that renders back to text, Jinja syntax in it included."""
    return "{% raw %}" + text + "{% endraw %}" if text else ""


def build_cookiecutter_template(rendered: Path, name: str, dest: Path) -> Path:
    """A template with the same files as rendered/, the model name as {{cookiecutter.name}}."""
    var = "{{cookiecutter.name}}"
    root = dest / "template"
    project = root / var
    for src in sorted(p for p in rendered.rglob("*") if p.is_file()):
        rel = src.relative_to(rendered).as_posix().replace(name, var)
        out = project / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text(encoding="utf-8")
        out.write_text(var.join(raw(chunk) for chunk in text.split(name)), encoding="utf-8")
    (root / "cookiecutter.json").write_text(json.dumps({"name": name}), encoding="utf-8")
    return root


def bench_cookiecutter(name: str, spec: Path, rendered: Path, tmp: Path, runs: int) -> list[Timing]:
    model = model_name(spec)
    template = build_cookiecutter_template(rendered, model, tmp / "cc")
    config = tmp / "cc" / "config.yaml"  # keeps the replay file and clones out of $HOME
    config.write_text(f"cookiecutters_dir: {tmp / 'cc' / 'dirs'}\nreplay_dir: {tmp / 'cc' / 'replay'}\n",
                      encoding="utf-8")
    out_root = tmp / "cc-out"

    def cmd(*extra: str) -> list[str]:
        return [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", str(config),
                *extra, "-o", str(out_root), str(template)]

    def fresh_out(i: int) -> None:
        shutil.rmtree(out_root, ignore_errors=True)
        out_root.mkdir()

    first = measure(name, "cookiecutter", "render", "empty", runs, lambda i: cmd(), prepare=fresh_out)
    produced = out_root / model
    first.files, first.bytes = tree_size(produced) if produced.is_dir() else (0, 0)
    second = measure(name, "cookiecutter", "render", "populated", runs,
                     lambda i: cmd("--overwrite-if-exists"), size=(first.files, first.bytes))
    return [first, second]


def probe_imports(spec: Path, populated: Path) -> dict[str, Any]:
    commands = {"render": ["render", str(spec), "--out", str(populated)],
                "validate": ["validate", str(spec)],
                "check": ["check", str(spec), "--dir", str(populated)]}
    found: dict[str, Any] = {}
    for command, args in commands.items():
        proc = subprocess.run([sys.executable, "-c", IMPORT_PROBE, ",".join(OPTIONAL_CLIENTS), *args],
                              cwd=REPO, env=env(), capture_output=True, text=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@PROBE@@")]
        found[command] = (json.loads(lines[-1][len("@@PROBE@@"):]) if lines
                          else {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]})
    return found


def libyaml_info() -> dict[str, Any]:
    import yaml

    return {"pyyaml": yaml.__version__, "with_libyaml": bool(getattr(yaml, "__with_libyaml__", False))}


def cookiecutter_available() -> str | None:
    proc = subprocess.run([sys.executable, "-m", "cookiecutter", "--version"], capture_output=True,
                          text=True, env=env())
    return proc.stdout.split(" from ")[0].strip() if proc.returncode == 0 else None


def in_process(specs: list[Path], count: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", IN_PROCESS, str(count), *map(str, specs)], cwd=REPO, env=env(),
                          capture_output=True, text=True)
    if proc.returncode:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    result: dict[str, Any] = json.loads(proc.stdout.splitlines()[-1])
    return result


def ratios(timings: list[Timing], throughput: dict[str, Any]) -> dict[str, Any]:
    """The issue-14 figures, each from medians measured in this run."""
    baseline = next(t for t in timings if t.tool == "python" and t.command == "import yaml")
    libraries = next((t for t in timings if t.tool == "python" and t.command == LIBRARIES), None)
    checks = [t for t in timings if t.command == "check"]
    check_ratio = max(t.median_s for t in checks) / baseline.median_s
    out: dict[str, Any] = {"check_vs_import_yaml": {"ratio": round(check_ratio, 2),
                                                   "target": f"<= {TARGETS['check_vs_import_yaml']}",
                                                   "met": check_ratio <= TARGETS["check_vs_import_yaml"]}}
    for cc in (t for t in timings if t.tool == "cookiecutter" and t.target_dir == "empty"):
        render = next(t for t in timings if t.tool == "mlopsgen" and t.command == "render"
                      and t.target_dir == "empty" and t.example == cc.example)
        ratio = cc.median_s / render.median_s
        out["cookiecutter_vs_render"] = {"example": cc.example, "ratio": round(ratio, 2),
                                         "target": f">= {TARGETS['cookiecutter_vs_render']}",
                                         "met": ratio >= TARGETS["cookiecutter_vs_render"]}
        if libraries:
            out["cookiecutter_vs_libraries"] = {
                "ratio": round(cc.median_s / libraries.median_s, 2),
                "note": f"(python -c '{LIBRARIES}'): the most any render can reach"}
    if "specs_per_s" in throughput:
        rate = throughput["specs_per_s"]
        out["in_process_specs_per_s"] = {"value": round(rate, 1), "target": f">= {TARGETS['in_process_specs_per_s']}",
                                         "met": rate >= TARGETS["in_process_specs_per_s"]}
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    specs = sorted(EXAMPLES.glob("*/mlops.yaml"))
    if args.example:
        specs = [s for s in specs if s.parent.name in args.example]
    if not specs:
        raise SystemExit(f"no examples found under {EXAMPLES}")
    cc_version = None if args.cookiecutter == "none" else cookiecutter_available()
    timings: list[Timing] = []
    imports: dict[str, Any] = {}
    rendered: dict[str, tuple[Path, Path, int]] = {}  # example -> (spec, rendered tree, bytes)
    with tempfile.TemporaryDirectory(prefix="mlopsgen-bench-") as tmpdir:
        tmp = Path(tmpdir)
        _PYCACHE[:] = [str(tmp / "pycache")]
        # untimed runs so .pyc files exist and the page cache is warm for every timed run
        for command in (["render", str(specs[0]), "--out", str(tmp / "warmup")],
                        ["check", str(specs[0]), "--dir", str(tmp / "warmup")]):
            subprocess.run(mlopsgen(*command), cwd=REPO, env=env(), capture_output=True)
        if cc_version:
            subprocess.run([sys.executable, "-m", "cookiecutter", "--version"], env=env(), capture_output=True)
        timings.append(measure("-", "python", "import yaml", "-", args.runs,
                               lambda i: [sys.executable, "-c", "import yaml"]))
        # what any render pays before it starts: the three libraries it cannot do without
        timings.append(measure("-", "python", LIBRARIES, "-", args.runs,
                               lambda i: [sys.executable, "-c", LIBRARIES]))
        for spec in specs:
            name = spec.parent.name
            work = tmp / name
            work.mkdir()
            results, populated = bench_mlopsgen(name, spec, work, args.runs)
            timings += results
            rendered[name] = (spec, populated, results[0].bytes)
            if not imports:  # the same code paths for every example: probe the first one
                imports = probe_imports(spec, populated)
        if cc_version:
            # a baseline: by default on the largest rendered output only (--cookiecutter all: each)
            chosen = (sorted(rendered) if args.cookiecutter == "all"
                      else [max(rendered, key=lambda n: rendered[n][2])])
            for name in chosen:
                spec, populated, _ = rendered[name]
                timings += bench_cookiecutter(name, spec, populated, tmp / name, args.runs)
        throughput = in_process(specs, args.in_process)
    mlopsgen_rows = [t for t in timings if t.tool == "mlopsgen"]
    worst = max(mlopsgen_rows, key=lambda t: t.median_s)
    return {
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
        "runs": args.runs,
        "target": {"wall_s": TARGET_S, "on": "2-core machine", "statistic": "median",
                   "met": all(t.median_s <= TARGET_S for t in mlopsgen_rows),
                   "worst": {"example": worst.example, "command": worst.command,
                             "target_dir": worst.target_dir, "median_s": round(worst.median_s, 4)}},
        "cookiecutter": cc_version or ("skipped: --cookiecutter none" if args.cookiecutter == "none"
                                       else "skipped: cookiecutter is not installed"),
        "in_process": throughput,
        "ratios": ratios(timings, throughput),
        "optional_client_imports": imports,
        "libyaml": libyaml_info(),
        "timings": [{**asdict(t), "median_s": round(t.median_s, 4), "min_s": round(t.min_s, 4)}
                    for t in timings],
    }


def text_report(r: dict[str, Any]) -> str:
    m = r["machine"]
    lines = [f"mlopsgen cold-start timings: Python {m['python']}, {m['cpus']} CPU(s), {m['platform']}",
             f"each figure: {r['runs']} fresh subprocesses, wall clock", ""]
    head = ("example", "tool", "command", "into", "median s", "min s", "exit", "files", "bytes")
    rows = [(t["example"], t["tool"], t["command"], t["target_dir"], f"{t['median_s']:.3f}",
             f"{t['min_s']:.3f}", ",".join(map(str, t["exit_codes"])), str(t["files"]), str(t["bytes"]))
            for t in r["timings"]]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    right = {4, 5, 7, 8}

    def fmt(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    lines += [fmt(head), fmt(["-" * w for w in widths]), *map(fmt, rows), ""]
    if isinstance(r["cookiecutter"], str) and r["cookiecutter"].startswith("skipped"):
        lines.append(f"cookiecutter comparison {r['cookiecutter']}")
    else:
        lines.append(f"comparison: {r['cookiecutter']} --no-input on a template with the same files "
                     "(model name as {{cookiecutter.name}})")
    ip = r["in_process"]
    lines.append(f"in one process: {ip['specs']} distinct specs rendered and verified in {ip['seconds']:.2f} s, "
                 f"{ip['specs_per_s']:.0f} specs/s" if "specs" in ip else f"in-process run failed: {ip['error']}")
    lines.append("")
    lines.append("figures measured side by side in this run (medians):")
    names = {"check_vs_import_yaml": "slowest check / python -c 'import yaml'",
             "cookiecutter_vs_render": "cookiecutter / render into an empty directory",
             "cookiecutter_vs_libraries": "cookiecutter / importing a render's libraries",
             "in_process_specs_per_s": "in-process renders per second"}
    for key, figure in r["ratios"].items():
        value = figure.get("ratio", figure.get("value"))
        verdict = (f"target {figure['target']}: {'MET' if figure['met'] else 'NOT MET'}" if "target" in figure
                   else figure["note"])
        lines.append(f"  {names[key]:<46} {value:>7}  {verdict}")
    lines.append("")
    lines.append("optional clients imported (" + ", ".join(OPTIONAL_CLIENTS) + "):")
    for command, info in r["optional_client_imports"].items():
        if "error" in info:
            lines.append(f"  {command:<9} probe failed: {info['error']}")
            continue
        loaders = info["yaml_loaders"]
        lines.append(f"  {command:<9} {', '.join(info['imported']) if info['imported'] else 'none'}"
                     f"  (exit {info['exit']}, {info['modules']} modules loaded,"
                     f" YAML loaders built: {loaders['c']} C, {loaders['python']} pure-Python)")
    y = r["libyaml"]
    c_used = any(i.get("yaml_loaders", {}).get("c", 0) for i in r["optional_client_imports"].values())
    lines.append(f"libyaml: PyYAML {y['pyyaml']}, yaml.__with_libyaml__ = {y['with_libyaml']}; "
                 f"C loader {'in use' if c_used else 'NOT in use'} by mlopsgen")
    t = r["target"]
    w = t["worst"]
    lines.append("")
    lines.append(f"target: <= {t['wall_s']} s wall per command (median) on a {t['on']}: "
                 f"{'MET' if t['met'] else 'NOT MET'}; slowest: {w['command']} ({w['target_dir']}) "
                 f"of {w['example']} at {w['median_s']:.3f} s")
    if m["cpus"] != 2:
        lines.append(f"note: this machine has {m['cpus']} CPU(s), the target is stated for 2")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per figure (default: 10)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--example", action="append", metavar="NAME",
                        help="only this example (repeatable; default: every examples/*/mlops.yaml)")
    parser.add_argument("--cookiecutter", choices=("largest", "all", "none"), default="largest",
                        help="cookiecutter baseline on the example with the largest output (default),"
                             " on every example, or not at all")
    parser.add_argument("--in-process", type=int, default=100, metavar="N",
                        help="distinct specs rendered in one process (default 100)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    result = run(args)
    print(json.dumps(result, indent=2) if args.format == "json" else text_report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
