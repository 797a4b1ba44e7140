"""The official JSON schemas vendored under schemas/vendor/, compiled once per process: a render
verifies many manifests of the same few kinds, and compiling a schema costs more than validating."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema

from generator.resources import schemas_dir


def vendored_schema_exists(relative: str) -> bool:
    return (schemas_dir() / "vendor" / relative).is_file()


@cache
def schema_validator(relative: str, close_root: bool = False) -> Any:
    """A validator for schemas/vendor/<relative>; close_root refuses unknown root fields."""
    with open(schemas_dir() / "vendor" / relative, encoding="utf-8") as handle:
        schema = json.load(handle)
    if close_root and "properties" in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = False  # the API server rejects unknown root fields too
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


def best_error(validator: Any, instance: Any) -> str | None:
    """The most relevant schema error as '<dotted path>: <message>', or None when the instance is valid."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message[:300]}"
