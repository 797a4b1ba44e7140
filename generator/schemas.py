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
# instances checked against the part of a schema they reach before the whole is compiled: a command
# checks each kind once or twice; a fleet's process goes on to compile each schema once
PRUNED_CHECKS = 4
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


class CompiledSchema:
    """One schema, its fast validator, and (built on the first refusal) its explaining one.

    pruned_checks: how many instances to check against only the part of the schema they reach
    (reachable()) before compiling the whole: a cold render checks each Kubernetes kind once or
    twice, and compiling KServe's 1.4 MB InferenceService schema costs 20 ms where the part a
    manifest reaches compiles in well under one; a fleet's process compiles it once and for all.
    """

    def __init__(self, schema: dict[str, Any], default_draft: str = DRAFT_7, *,
                 pruned_checks: int = PRUNED_CHECKS, reference_free: bool | None = None) -> None:
        """reference_free: whether the schema has no $ref (prunable()), when the caller knows it more
        cheaply than by walking the schema (5 ms for KServe's)."""
        self.schema = schema
        self.default_draft = default_draft
        # The draft its $schema names. A schema without one (the vendored CRDs' structural schemas:
        # type, properties, items, enum, pattern, ... which mean the same in drafts 7 and 2020-12,
        # and no $ref) is compiled as 2020-12: jsonschema-rs checks a draft-7 schema against its
        # meta-schema's "format": "regex", which prometheus-operator's "^(?i)(abort|warn)?$" fails
        # (Python's re refuses that pattern too, should a manifest ever reach it).
        self._cls = (jsonschema_rs.validator_cls_for(schema) if "$schema" in schema
                     else jsonschema_rs.Draft202012Validator)
        self._pruned_checks = pruned_checks if (prunable(schema) if reference_free is None else reference_free) else 0
        self._compiled: Any = None if self._pruned_checks else self._compile(schema)

    def _compile(self, schema: Any) -> Any:
        return self._cls(schema, validate_formats=False)

    @property
    def _fast(self) -> Any:
        if self._compiled is None:
            self._compiled = self._compile(self.schema)
        return self._compiled

    def is_valid(self, instance: Any) -> bool:
        if self._compiled is None and self._pruned_checks > 0:
            self._pruned_checks -= 1
            return bool(self._compile(reachable(self.schema, [instance])).is_valid(instance))
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


# Keywords whose subschemas apply to the instance as a whole, or to items by position, or that
# depend on what other keywords evaluated: a schema node holding one is kept whole.
_KEPT_WHOLE = frozenset({"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "prefixItems", "additionalItems",
                         "contains", "unevaluatedProperties", "unevaluatedItems", "dependentSchemas", "dependencies"})
_REFERENCES = frozenset({"$ref", "$dynamicRef", "$recursiveRef"})


def prunable(schema: Any) -> bool:
    """Whether reachable() may cut this schema: not when anything in it is a reference (a $ref may
    point into any part of it). reference_free_text says the same of a schema's JSON text, faster."""
    todo = [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if _REFERENCES.intersection(node):
                return False
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return True


def reachable(schema: Any, instances: list[Any]) -> Any:
    """The part of a reference-free schema that these instances reach, with the same verdict on each.

    Under `properties`, a property no instance has never applies, so it goes; `additionalProperties`
    still sees the same extra keys (every key an instance has stays). `items` applies to every
    element, so it is cut by all of them. Descriptions are annotations. Anything else is kept as
    it is, and a node holding a keyword of _KEPT_WHOLE is kept whole (tests/test_schema_verdicts.py
    checks the verdicts on every golden manifest and on refused variants of each).
    """
    if not isinstance(schema, dict) or _KEPT_WHOLE.intersection(schema):
        return schema
    cut = {key: value for key, value in schema.items() if key not in ("properties", "items", "description")}
    properties = schema.get("properties")
    if isinstance(properties, dict):
        objects = [instance for instance in instances if isinstance(instance, dict)]
        cut["properties"] = {name: reachable(sub, [obj[name] for obj in objects if name in obj])
                             for name, sub in properties.items() if any(name in obj for obj in objects)}
    elif "properties" in schema:
        cut["properties"] = properties
    items = schema.get("items")
    if isinstance(items, dict):
        elements = [item for instance in instances if isinstance(instance, list) for item in instance]
        cut["items"] = reachable(items, elements)
    elif "items" in schema:
        cut["items"] = items
    return cut


def reference_free_text(text: str) -> bool:
    """prunable() of the schema this JSON text holds, without parsing it: a reference keyword is a key,
    so its name appears quoted (or, in an escaped spelling, the text is taken to hold one)."""
    return not any(f'"{keyword}"' in text for keyword in _REFERENCES) and "\\u" not in text
