"""`mlopsgen evaluate`: may the retrained model replace the production (champion) model?"""

from __future__ import annotations

import argparse
import json

from generator.commands import emit_json, load_training_spec
from generator.ct.evaluation import evaluate
from generator.ct.metrics import load_metrics
from generator.deliver.writer import write_atomically
from generator.errors import EXIT_OK, EXIT_USER_ERROR


def run(args: argparse.Namespace) -> int:
    spec, training = load_training_spec(args.spec, "add training.evaluation to gate retrained models")
    hint = "training.evaluation.command must write it to $METRICS_FILE"
    report = evaluate(spec, training, load_metrics(args.challenger, hint), load_metrics(args.champion, hint))
    if args.report:
        write_atomically(args.report, (json.dumps(report.to_json(), indent=2) + "\n").encode())
    if args.markdown:
        write_atomically(args.markdown, report.markdown().encode())
    if args.format == "json":
        emit_json(report.to_json())
    else:
        for t in report.thresholds:
            print(f"{'PASS' if t['passed'] else 'FAIL'} {t['metric']}: {t['reason']}")
        c = report.comparison
        print(f"{'PASS' if c['passed'] else 'FAIL'} champion ({report.champion_uri}): {c['reason']}")
        print("retraining gate: " + ("passed: register the model and propose it" if report.passed else
                                     "FAILED: the champion stays (" + "; ".join(report.reasons) + ")"))
    return EXIT_OK if report.passed else EXIT_USER_ERROR
