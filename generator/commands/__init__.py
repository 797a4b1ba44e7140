"""One module per CLI verb; each exposes run(args) -> exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from generator.errors import UserError

if TYPE_CHECKING:  # the spec stages are imported by the commands that load a spec, not by every command
    from generator.model import Spec, Training


def emit_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, sort_keys=False, allow_nan=False))


def load_training_spec(path: Path, hint: str) -> tuple[Spec, Training]:
    """The valid, normalised spec of a continuous-training command, and its training section."""
    from generator.spec.intake import load_valid_model

    spec = load_valid_model(path)
    if spec.training is None:
        raise UserError(f"{path} has no training section", hint)
    return spec, spec.training
