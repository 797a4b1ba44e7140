"""The first three stages as one call: load the spec file, validate it, check the rules.

The schema and the rules report in one run: the rules read the typed model of what the schema
accepted (stand-ins where it rejected a value, which the rules then skip), so a bad cron is reported
beside a misspelt field instead of after it is fixed. Only a spec that cannot be read as a YAML
mapping stops at the loader; only one the stand-ins cannot make valid reports schema problems alone.

Kept apart from engine.py so commands that only read a spec (validate, gate, analyze, promote)
do not import the rendering machinery.
"""

from __future__ import annotations

from pathlib import Path

from generator.errors import Problem, SpecError
from generator.model import Spec
from generator.spec.loader import LoadedSpec, Locator, load_spec
from generator.spec.normalise import normalise
from generator.spec.rules import rule_problems, rule_warnings
from generator.spec.validation import check_schema


def load_valid_spec(spec_path: Path) -> LoadedSpec:
    return checked_spec(spec_path)[0]


def load_valid_model(spec_path: Path) -> Spec:
    """The valid spec's typed model, its source named as the path: the model the checks built."""
    return checked_spec(spec_path)[1]


def checked_spec(spec_path: Path) -> tuple[LoadedSpec, Spec]:
    """The spec loaded and valid, and the typed model the rules read (its source: the file as named)."""
    loaded = load_spec(spec_path)
    problems, model = _checked(loaded)
    if problems or model is None:
        raise SpecError(problems=problems)
    return loaded, model


def spec_problems(loaded: LoadedSpec) -> list[Problem]:
    """Every schema and rule problem of a loaded spec (SpecError sorts them by position)."""
    return _checked(loaded)[0]


def _checked(loaded: LoadedSpec) -> tuple[list[Problem], Spec | None]:
    schema, readable = check_schema(loaded)
    if readable is None:
        return schema, None
    model = normalise(readable.data, loaded.file)
    return merge_problems(schema, rule_problems(model, Locator(loaded, readable.unreadable))), model


def spec_warnings(loaded: LoadedSpec, model: Spec | None = None) -> list[Problem]:
    """What a valid spec allows but should think twice about (one replica in production, ...);
    model: normalise's model of it, when the caller has one."""
    return rule_warnings(model or normalise(loaded.data, loaded.file), Locator(loaded, frozenset()))


def merge_problems(schema: list[Problem], rules: list[Problem]) -> list[Problem]:
    """Schema problems, then the rule problems on a path the schema did not already report.

    A missing required field is reported at its parent, but is about the absent child: it does not
    claim the parent's path, so a rule about the parent (an Airflow training without an image, say)
    is still reported beside it.
    """
    claimed = {(p.file, p.path) for p in schema if p.rule != "required"}
    return [*schema, *(p for p in rules if (p.file, p.path) not in claimed)]
