"""The first three stages as one call: load the spec file, validate it, check the rules.

Kept apart from engine.py so commands that only read a spec (validate, gate, analyze, promote)
do not import the rendering machinery.
"""

from __future__ import annotations

from pathlib import Path

from generator.loader import LoadedSpec, load_spec
from generator.rules import check_rules
from generator.validation import validate


def load_valid_spec(spec_path: Path) -> LoadedSpec:
    loaded = load_spec(spec_path)
    validate(loaded)
    check_rules(loaded)
    return loaded
