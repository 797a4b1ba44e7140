"""What promql-parser costs `mlopsgen validate`: the import, and validate with and without a custom SLO.

generator/spec/slo_rules.py imports promql_parser only when a spec has a custom query. This script
measures, side by side in one run, as fresh interpreters (median of --runs):
- `import promql_parser` alone (python -X importtime's cumulative figure, microseconds), next to
  `import yaml` as a yardstick;
- `python -m generator validate` on the fraud-detector example (no custom SLO: the parser is not
  imported) and on the same spec with one custom SLO (the parser is imported and runs).
A script, not a test: it prints figures and exits 0.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "fraud-detector" / "mlops.yaml"
CUSTOM_SLO = '    - {name: drift, signal: custom, query: "max(model_drift_score{$selector})", threshold: 0.3}\n'


def import_us(module: str) -> int:
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True,
                          text=True, check=True, cwd=REPO)
    line = next(line for line in reversed(done.stderr.splitlines()) if re.search(rf"\|\s+{module}$", line))
    return int(line.split("|")[1])


def validate_s(spec: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "generator", "validate", str(spec)], capture_output=True, check=True,
                   cwd=REPO)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--format", choices=("text", "json"), default="text")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        custom = Path(tmp) / "mlops.yaml"
        custom.write_text(EXAMPLE.read_text(encoding="utf-8").replace("\n  slos:\n", "\n  slos:\n" + CUSTOM_SLO),
                          encoding="utf-8")
        figures = {
            "import promql_parser (us)": statistics.median(import_us("promql_parser") for _ in range(args.runs)),
            "import yaml (us)": statistics.median(import_us("yaml") for _ in range(args.runs)),
            "validate, no custom SLO (s)": statistics.median(validate_s(EXAMPLE) for _ in range(args.runs)),
            "validate, one custom SLO (s)": statistics.median(validate_s(custom) for _ in range(args.runs)),
        }
    if args.format == "json":
        print(json.dumps(figures, indent=2))
    else:
        for name, value in figures.items():
            print(f"{name:32} {value:10.3f}" if isinstance(value, float) else f"{name:32} {value:10d}")
        ratio = figures["validate, one custom SLO (s)"] / figures["validate, no custom SLO (s)"]
        print(f"{'validate custom / no custom':32} {ratio:10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
