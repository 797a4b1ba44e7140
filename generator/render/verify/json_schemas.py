"""The official JSON schemas vendored under schemas/vendor/, compiled once per process: a render
verifies many manifests of the same few kinds, and compiling a schema costs more than validating.
Validation itself is generator/schemas.py's: jsonschema-rs decides, jsonschema explains."""

from __future__ import annotations

import json
from functools import cache

from generator.resources import schemas_dir
from generator.schemas import DRAFT_7, CompiledSchema, best_error, reference_free_text

__all__ = ["best_error", "schema_validator", "vendored_schema_exists"]


@cache
def vendored_schema_exists(relative: str) -> bool:
    return (schemas_dir() / "vendor" / relative).is_file()


@cache
def schema_validator(relative: str, close_root: bool = False) -> CompiledSchema:
    """A validator for schemas/vendor/<relative>; close_root refuses unknown root fields."""
    with open(schemas_dir() / "vendor" / relative, encoding="utf-8") as handle:
        text = handle.read()
    schema = json.loads(text)
    if close_root and "properties" in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = False  # the API server rejects unknown root fields too
    return CompiledSchema(schema, default_draft=DRAFT_7, reference_free=reference_free_text(text))
