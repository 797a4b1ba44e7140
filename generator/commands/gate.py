"""`mlopsgen gate`: the model-validation gate, thresholds from the spec."""

from __future__ import annotations

import argparse

from generator.commands import emit_json
from generator.ct.metrics import check_thresholds, load_metrics
from generator.errors import EXIT_OK, EXIT_USER_ERROR, UserError
from generator.spec.intake import load_valid_model


def run(args: argparse.Namespace) -> int:
    spec = load_valid_model(args.spec)
    gate = spec.ci.tests.model_validation
    if gate is None:
        raise UserError(f"{args.spec} has no ci.tests.modelValidation section", "add thresholds to gate on")
    metrics = load_metrics(args.metrics, f"the command `{gate.command}` must write it")
    results = check_thresholds(gate.thresholds, metrics)
    passed = all(r["passed"] for r in results)
    if args.format == "json":
        emit_json({"passed": passed, "metrics": results})
    else:
        for r in results:
            print(f"{'PASS' if r['passed'] else 'FAIL'} {r['metric']}: {r['reason']}")
        print("model gate: " + ("passed" if passed else "FAILED: the model is not promoted"))
    return EXIT_OK if passed else EXIT_USER_ERROR
