"""The gate of a retrained model: absolute thresholds, then the comparison with the champion.

The champion is the model the spec deploys now (`model.uri`), scored by the same evaluation
command on the same data as the challenger, so the two numbers are comparable. Anything that
cannot be judged (a missing or non-numeric metric) fails: the champion stays.
"""

from __future__ import annotations

from typing import Any

from generator.ct.metrics import check_thresholds, number
from generator.frozen import frozen
from generator.model import Spec, Training


@frozen
class EvaluationReport:
    model: str
    champion_uri: str
    champion_version: str
    thresholds: list[dict[str, Any]]
    comparison: dict[str, Any]
    challenger: dict[str, Any]
    champion: dict[str, Any]

    @property
    def passed(self) -> bool:
        return all(t["passed"] for t in self.thresholds) and bool(self.comparison["passed"])

    @property
    def reasons(self) -> list[str]:
        """Why the challenger was refused; empty when it passed."""
        failed = [f"{t['metric']}: {t['reason']}" for t in self.thresholds if not t["passed"]]
        if not self.comparison["passed"]:
            failed.append(f"against the champion: {self.comparison['reason']}")
        return failed

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "decision": "promote" if self.passed else "keep-champion",
                "model": self.model, "champion_uri": self.champion_uri, "champion_version": self.champion_version,
                "reasons": self.reasons, "thresholds": self.thresholds, "comparison": self.comparison,
                "challenger": self.challenger, "champion": self.champion}

    def markdown(self) -> str:
        verdict = ("**Passed**: the retrained model may replace the champion." if self.passed else
                   "**Failed**: the champion stays.")
        c = self.comparison
        lines = [f"### Retraining gate for `{self.model}`", "", verdict, "",
                 "| check | challenger | bound | result |", "| --- | --- | --- | --- |"]
        for t in self.thresholds:
            bound = " and ".join(part for part in (f"≥ {t['min']:g}" if t["min"] is not None else "",
                                                   f"≤ {t['max']:g}" if t["max"] is not None else "") if part)
            lines.append(f"| `{t['metric']}` | {_cell(t['value'])} | {bound} | "
                         f"{'pass' if t['passed'] else 'FAIL: ' + _escape(t['reason'])} |")
        better = "higher" if c["direction"] == "maximize" else "lower"
        lines += ["", f"Champion `{self.champion_uri}` (version {self.champion_version}), same data:", "",
                  "| metric | challenger | champion | improvement | required | result |",
                  "| --- | --- | --- | --- | --- | --- |",
                  f"| `{c['metric']}` ({better} is better) | {_cell(c['challenger'])} | {_cell(c['champion'])} | "
                  f"{_cell(c['improvement'])} | ≥ {c['min_improvement']:g} | "
                  f"{'pass' if c['passed'] else 'FAIL: ' + _escape(c['reason'])} |"]
        return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "–" if value is None else _escape(str(value))


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def evaluate(spec: Spec, training: Training, challenger: dict[str, Any], champion: dict[str, Any]) -> EvaluationReport:
    rule = training.evaluation.champion
    new, why_new = number(challenger.get(rule.metric))
    old, why_old = number(champion.get(rule.metric))
    improvement: float | None = None
    if new is None:
        passed, reason = False, f"the challenger's {rule.metric} is {why_new}"
    elif old is None:
        passed, reason = False, f"the champion's {rule.metric} is {why_old}"
    else:
        improvement = new - old if rule.direction == "maximize" else old - new
        passed = improvement >= rule.min_improvement - 1e-12  # 0.949 - 0.947 is 0.00199…98 in floats
        reason = (f"{rule.metric} {new:g} vs {old:g}: improvement {improvement:.6g} "
                  f"{'≥' if passed else '<'} {rule.min_improvement:g}")
    comparison = {"metric": rule.metric, "direction": rule.direction, "challenger": new, "champion": old,
                  "improvement": improvement, "min_improvement": rule.min_improvement, "passed": passed,
                  "reason": reason}
    return EvaluationReport(spec.name, spec.model.uri, spec.model.version,
                            check_thresholds(training.evaluation.thresholds, challenger), comparison,
                            challenger, champion)
