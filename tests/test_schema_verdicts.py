"""jsonschema-rs decides every schema check and jsonschema explains the refusals
(generator/schemas.py): the two must agree on every instance, or a manifest jsonschema would refuse
could pass unexplained. Checked on every schema check of every golden render, on refused variants
of each of those instances, and on every spec sample."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO

from generator import schemas
from generator.render.engine import build
from generator.spec.validation import _validator

EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/mlops.yaml"))
WRONG = ({"unexpected": True}, -1, None)  # stand-ins of the wrong type or value


def _parses(path: Path) -> bool:
    try:
        yaml.safe_load(path.read_bytes().decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return False  # refused by the loader, before any schema
    return True


SPEC_SAMPLES = [p for p in sorted((REPO / "tests" / "specs").glob("*/*.yaml")) + [e / "mlops.yaml" for e in EXAMPLES]
                if _parses(p)]


def schema_checks(example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Every (compiled schema, instance) the render of an example verifies."""
    seen: list[tuple[Any, Any]] = []
    original = schemas.CompiledSchema.is_valid

    def recording(self: schemas.CompiledSchema, instance: Any) -> bool:
        seen.append((self, copy.deepcopy(instance)))
        return original(self, instance)

    monkeypatch.setattr(schemas.CompiledSchema, "is_valid", recording)
    build(example / "mlops.yaml", tmp_path)
    monkeypatch.setattr(schemas.CompiledSchema, "is_valid", original)
    return seen


def variants(instance: Any) -> Iterator[Any]:
    """The instance with one value replaced, for every path in it (and an unknown root field)."""
    if isinstance(instance, dict):
        yield {**instance, "x-not-a-field": {"a": 1}}
    for path in _paths(instance, ()):
        for wrong in WRONG:
            changed = copy.deepcopy(instance)
            _set(changed, path, wrong)
            yield changed


def _paths(node: Any, path: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield (*path, key)
        yield from _paths(child, (*path, key))


def _set(node: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def agree(compiled: schemas.CompiledSchema, instance: Any) -> bool:
    return compiled.is_valid(instance) == compiled.explainer.is_valid(instance)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_both_validators_agree_on_every_rendered_manifest_and_its_variants(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checks = schema_checks(example, tmp_path, monkeypatch)
    assert len(checks) >= 15
    refused = 0
    for compiled, instance in checks:
        assert compiled.is_valid(instance) and compiled.explainer.is_valid(instance)
        for variant in variants(instance):
            assert agree(compiled, variant), f"the validators disagree on {variant!r:.300}"
            refused += not compiled.is_valid(variant)
    assert refused > 100  # the variants do reach refusals, of many kinds


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_part_of_a_schema_an_instance_reaches_gives_the_whole_schemas_verdict(
        example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cold render checks each manifest against schemas.reachable() of its schema (compiling a
    whole CRD schema costs more than the render): on every golden instance and every refused
    variant of it, the verdict is the whole schema's."""
    pruned = 0
    for compiled, instance in schema_checks(example, tmp_path, monkeypatch):
        if not schemas.prunable(compiled.schema):
            continue
        pruned += 1
        whole = compiled._compile(compiled.schema)
        for variant in [instance, *variants(instance)]:
            cut = compiled._compile(schemas.reachable(compiled.schema, [variant]))
            assert cut.is_valid(variant) == whole.is_valid(variant), f"the verdicts differ on {variant!r:.300}"
    assert pruned >= 5


def test_a_schema_with_references_is_never_cut() -> None:
    schema = {"properties": {"a": {"$ref": "#/properties/b"}, "b": {"type": "string"}}}
    assert not schemas.prunable(schema) and not schemas.prunable({"items": [{"$dynamicRef": "#x"}]})
    compiled = schemas.CompiledSchema(schema, pruned_checks=4)
    assert not compiled.is_valid({"a": 1}) and compiled.is_valid({"a": "x"})


def test_reachable_cuts_what_no_instance_has_and_keeps_what_decides() -> None:
    schema = {"type": "object", "required": ["a"], "additionalProperties": False, "description": "d",
              "properties": {"a": {"type": "array", "items": {"properties": {"x": {"type": "integer"},
                                                                             "y": {"type": "string"}}}},
                             "b": {"type": "string"}, "c": {"anyOf": [{"type": "integer"}]}}}
    cut = schemas.reachable(schema, [{"a": [{"x": 1}, {"z": 2}], "c": 3}])
    assert cut == {"type": "object", "required": ["a"], "additionalProperties": False,
                   "properties": {"a": {"type": "array", "items": {"properties": {"x": {"type": "integer"}}}},
                                  "c": {"anyOf": [{"type": "integer"}]}}}
    compiled = schemas.CompiledSchema(schema, pruned_checks=2)
    assert not compiled.is_valid({"a": [], "b": 1})  # b is still checked when an instance has it
    assert not compiled.is_valid({"a": [], "d": 1})  # and an extra key is still extra
    assert compiled.is_valid({"a": [{"x": 1}]})  # the third check compiles the whole schema
    assert compiled._compiled is not None


@pytest.mark.parametrize("sample", SPEC_SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_both_validators_agree_on_every_spec_sample(sample: Path) -> None:
    data = yaml.safe_load(sample.read_text(encoding="utf-8"))
    compiled = _validator()
    assert agree(compiled, data)
    for variant in variants(data) if isinstance(data, dict) else ():
        assert agree(compiled, variant), f"the validators disagree on {variant!r:.300}"
        assert _cut_agrees(compiled, variant)


def _cut_agrees(compiled: schemas.CompiledSchema, instance: Any) -> bool:
    """The verdict of the part of the schema the instance reaches is the whole schema's."""
    if not schemas.prunable(compiled.schema):
        return True
    cut = compiled._compile(schemas.reachable(compiled.schema, [instance]))
    return bool(cut.is_valid(instance) == compiled._fast.is_valid(instance))


@pytest.mark.parametrize("path", sorted((REPO / "schemas").rglob("*.json")), ids=lambda p: p.name)
def test_the_text_check_for_references_never_calls_a_schema_with_one_free(path: Path) -> None:
    import json

    text = path.read_text(encoding="utf-8")
    if schemas.reference_free_text(text):
        assert schemas.prunable(json.loads(text))
    assert not schemas.reference_free_text('{"a": {"\\u0024ref": "#"}}')  # an escaped spelling counts
