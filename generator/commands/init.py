"""`mlopsgen init`: scaffold a model repository (spec, model, tests, pipelines) with cookiecutter."""

from __future__ import annotations

import argparse
import sys

from generator.commands import emit_json
from generator.errors import EXIT_OK


def run(args: argparse.Namespace) -> int:
    from generator.integrations.cookiecutter import parse_answers, scaffold

    answers = parse_answers(args.answers)
    created = scaffold(answers, args.output_dir, no_input=args.no_input, overwrite=args.overwrite)
    if args.format == "json":
        emit_json({"created": str(created)})
        return EXIT_OK
    print(f"created {created}")
    print(f"next: cd {created} && python -m pytest && git init && pre-commit install\n"
          "change the pipelines by editing mlops.yaml, then: mlopsgen render mlops.yaml", file=sys.stderr)
    return EXIT_OK
