"""`mlopsgen gate`: the model-validation gate, thresholds from the spec."""

from __future__ import annotations

import argparse
import json
import math

from generator.commands import emit_json
from generator.errors import EXIT_OK, EXIT_USER_ERROR, UserError
from generator.intake import load_valid_spec
from generator.normalise import normalise


def run(args: argparse.Namespace) -> int:
    spec = normalise(load_valid_spec(args.spec).data, str(args.spec))
    gate = spec.ci.tests.model_validation
    if gate is None:
        raise UserError(f"{args.spec} has no ci.tests.modelValidation section", "add thresholds to gate on")
    try:
        metrics = json.loads(args.metrics.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read metrics file {args.metrics}: {exc.strerror}",
                        f"the command `{gate.command}` must write it") from None
    except ValueError as exc:
        raise UserError(f"{args.metrics} is not JSON: {exc}") from None
    if not isinstance(metrics, dict):
        raise UserError(f"{args.metrics} must hold a JSON object of metric name to number")
    results = []
    for t in gate.thresholds:
        value = metrics.get(t.metric)
        if value is None:
            verdict, reason = False, "missing"
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            verdict, reason, value = False, f"not a number: {value!r}", str(value)
        elif math.isinf(value):
            verdict, reason, value = False, f"not a finite number: {value!r}", str(value)
        elif t.minimum is not None and value < t.minimum:
            verdict, reason = False, f"{value:g} < min {t.minimum:g}"
        elif t.maximum is not None and value > t.maximum:
            verdict, reason = False, f"{value:g} > max {t.maximum:g}"
        else:
            verdict, reason = True, f"{value:g} within bounds"
        results.append({"metric": t.metric, "value": value, "min": t.minimum, "max": t.maximum,
                        "passed": verdict, "reason": reason})
    passed = all(r["passed"] for r in results)
    if args.format == "json":
        emit_json({"passed": passed, "metrics": results})
    else:
        for r in results:
            print(f"{'PASS' if r['passed'] else 'FAIL'} {r['metric']}: {r['reason']}")
        print("model gate: " + ("passed" if passed else "FAILED: the model is not promoted"))
    return EXIT_OK if passed else EXIT_USER_ERROR
