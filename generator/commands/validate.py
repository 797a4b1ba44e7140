from __future__ import annotations

import argparse
import sys

from generator.commands import emit_json
from generator.errors import EXIT_OK
from generator.spec.intake import checked_spec, spec_warnings


def run(args: argparse.Namespace) -> int:
    warnings = spec_warnings(*checked_spec(args.spec))
    if args.format == "json":
        emit_json({"valid": True, "file": str(args.spec), "problems": [],
                   "warnings": [w.to_json() for w in warnings]})
    else:
        print(f"{args.spec}: valid")
        for warning in warnings:
            print(f"warning: {warning.format()}", file=sys.stderr)
    return EXIT_OK
