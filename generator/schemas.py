"""JSON Schema validation at two speeds, for the spec and for every rendered manifest.

jsonschema-rs decides: compiled once per schema and process, it accepts or refuses an instance
about 200x faster than jsonschema does (benchmarks/validators.py measures both, side by side).
Only an instance it refuses is handed to jsonschema, whose errors (paths, best_match, the spec's
errorMessage and x-hint) every message is made of; jsonschema is imported only then. Both run
without format assertions, as jsonschema does by default, so that their verdicts agree
(tests/test_schema_verdicts.py checks them on every golden file and on refused variants of each).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import jsonschema_rs

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

DRAFT_7 = "http://json-schema.org/draft-07/schema#"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


class CompiledSchema:
    """One schema, its fast validator, and (built on the first refusal) its explaining one."""

    def __init__(self, schema: dict[str, Any], default_draft: str = DRAFT_7) -> None:
        self.schema = schema
        self.default_draft = default_draft
        # The draft its $schema names. A schema without one (the vendored CRDs' structural schemas:
        # type, properties, items, enum, pattern, ... which mean the same in drafts 7 and 2020-12,
        # and no $ref) is compiled as 2020-12: jsonschema-rs checks a draft-7 schema against its
        # meta-schema's "format": "regex", which prometheus-operator's "^(?i)(abort|warn)?$" fails
        # (Python's re refuses that pattern too, should a manifest ever reach it).
        cls = jsonschema_rs.validator_cls_for(schema) if "$schema" in schema else jsonschema_rs.Draft202012Validator
        self._fast = cls(schema, validate_formats=False)

    def is_valid(self, instance: Any) -> bool:
        return bool(self._fast.is_valid(instance))

    def errors(self, instance: Any) -> list[ValidationError]:
        """jsonschema's errors for an instance; none at all when it is valid (and nothing imported)."""
        if self.is_valid(instance):
            return []
        return list(self.explainer.iter_errors(instance))

    def fast_error(self, instance: Any) -> str:
        """jsonschema-rs's own first error, for the (never seen) case where jsonschema finds none."""
        for error in self._fast.iter_errors(instance):
            where = ".".join(str(p) for p in error.instance_path) or "(root)"
            return f"{where}: {error.message[:300]}"
        return "(root): refused by the schema"

    @cached_property
    def explainer(self) -> Validator:
        import jsonschema

        default = jsonschema.Draft202012Validator if self.default_draft == DRAFT_2020_12 else jsonschema.Draft7Validator
        cls = jsonschema.validators.validator_for(self.schema, default=default)
        validator: Validator = cls(self.schema)
        return validator


def best_error(compiled: CompiledSchema, instance: Any) -> str | None:
    """The most relevant schema error as '<dotted path>: <message>', or None when the instance is valid."""
    if compiled.is_valid(instance):
        return None
    from jsonschema.exceptions import best_match

    error = best_match(compiled.explainer.iter_errors(instance))
    if error is None:
        return compiled.fast_error(instance)
    where = ".".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message[:300]}"
