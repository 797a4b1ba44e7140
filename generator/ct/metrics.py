"""Metrics files (a JSON object of metric name to number) and the bounds they must meet."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from generator.errors import UserError
from generator.model import Threshold


def load_metrics(path: Path, hint: str) -> dict[str, Any]:
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read metrics file {path}: {exc.strerror}", hint) from None
    except ValueError as exc:
        raise UserError(f"{path} is not JSON: {exc}", hint) from None
    if not isinstance(metrics, dict):
        raise UserError(f"{path} must hold a JSON object of metric name to number", hint)
    return metrics


def number(value: Any) -> tuple[float | None, str]:
    """The value as a finite number, or None and why not."""
    if value is None:
        return None, "missing"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None, f"not a number: {value!r}"
    if math.isinf(value):
        return None, f"not a finite number: {value!r}"
    return float(value), ""


def check_thresholds(thresholds: tuple[Threshold, ...], metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """One result per threshold; a missing or non-numeric metric fails (fail closed)."""
    results = []
    for t in thresholds:
        raw = metrics.get(t.metric)
        value, why = number(raw)
        if value is None:
            verdict, reason = False, why
        elif t.minimum is not None and value < t.minimum:
            verdict, reason = False, f"{value:g} < min {t.minimum:g}"
        elif t.maximum is not None and value > t.maximum:
            verdict, reason = False, f"{value:g} > max {t.maximum:g}"
        else:
            verdict, reason = True, f"{value:g} within bounds"
        shown = raw if value is not None or raw is None else str(raw)
        results.append({"metric": t.metric, "value": shown, "min": t.minimum, "max": t.maximum,
                        "passed": verdict, "reason": reason})
    return results
