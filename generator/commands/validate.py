from __future__ import annotations

import argparse

from generator.commands import emit_json
from generator.errors import EXIT_OK
from generator.spec.intake import load_valid_spec


def run(args: argparse.Namespace) -> int:
    load_valid_spec(args.spec)
    if args.format == "json":
        emit_json({"valid": True, "file": str(args.spec), "problems": []})
    else:
        print(f"{args.spec}: valid")
    return EXIT_OK
