"""schemas/mlops.schema.json doubles as the spec reference: closed objects, documented fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "schemas/mlops.schema.json").read_text(encoding="utf-8"))


def fields(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for name, sub in node.get("properties", {}).items():
        if isinstance(sub, dict):
            yield f"{path}.{name}".lstrip("."), sub
            yield from fields(sub, f"{path}.{name}")
            if isinstance(sub.get("items"), dict):
                yield from fields(sub["items"], f"{path}.{name}[]")
            if isinstance(sub.get("additionalProperties"), dict):
                yield from fields(sub["additionalProperties"], f"{path}.{name}.*")


def objects(node: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield path, node
        for key, value in node.items():
            yield from objects(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from objects(value, f"{path}[{i}]")


def test_schema_is_valid_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize(("path", "node"), list(fields(SCHEMA)), ids=lambda x: x if isinstance(x, str) else "")
def test_every_field_has_a_description_and_a_valid_example(path: str, node: dict[str, Any]) -> None:
    assert node.get("description"), f"{path} has no description"
    assert node.get("examples"), f"{path} has no example"
    jsonschema.Draft202012Validator(node).validate(node["examples"][0])


def test_every_object_is_closed() -> None:
    for path, node in objects(SCHEMA):
        assert node.get("additionalProperties") is False or isinstance(node.get("additionalProperties"), dict), path


def test_examples_name_the_schema_for_editors() -> None:
    for spec in (REPO / "examples").glob("*/mlops.yaml"):
        assert spec.read_text().startswith("# yaml-language-server: $schema=../../schemas/mlops.schema.json\n")
