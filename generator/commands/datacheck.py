"""`mlopsgen data-check`: the training data's checks from the spec; training starts only on a pass."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from generator.commands import emit_json, load_training_spec
from generator.ct.datacheck import check_data
from generator.deliver.writer import write_atomically
from generator.errors import EXIT_OK, EXIT_USER_ERROR, UserError


def run(args: argparse.Namespace) -> int:
    _, training = load_training_spec(args.spec, "add training.dataChecks to say what the training data must look like")
    checks = training.data_checks
    # paths in the spec are relative to the spec's directory; paths on the command line to the working one
    base = Path(args.spec).parent
    data = args.data if args.data is not None else base / checks.path
    reference = None
    if checks.drift is not None:
        reference = args.reference if args.reference is not None else base / checks.drift.reference
    elif args.reference is not None:
        raise UserError(f"--reference given, but {args.spec} has no training.dataChecks.drift",
                        "add drift: {reference: ..., maxPsi: 0.2} to check the data against a reference")
    report = check_data(checks, data, reference)
    if args.report is not None:
        text = json.dumps(report.to_json(), indent=2, allow_nan=False) + "\n"
        try:
            write_atomically(args.report, text.encode("utf-8"))
        except OSError as exc:
            raise UserError(f"cannot write report {args.report}: {exc.strerror or exc}") from None
    if args.format == "json":
        emit_json(report.to_json())
    else:
        for result in report.results:
            print(result.format())
        failed = len(report.failed)
        print("data check: passed" if report.passed else
              f"data check: FAILED ({failed} of {len(report.results)} checks): training does not start")
    return EXIT_OK if report.passed else EXIT_USER_ERROR
