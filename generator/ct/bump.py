"""Edit model.version and model.uri in a spec's text, keeping its comments and layout."""

from __future__ import annotations

import json

import yaml

from generator.errors import UserError


def _value_node(mapping: yaml.Node, key: str) -> yaml.Node | None:
    if not isinstance(mapping, yaml.MappingNode):
        return None
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            node: yaml.Node = v
            return node
    return None


def bump_model(text: str, version: str, uri: str) -> str:
    """The spec's text with the two scalars replaced by double-quoted ones (exact YAML marks,
    so flow style, quoting and trailing comments are handled); nothing else changes."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    model = _value_node(root, "model") if root is not None else None
    edits = []
    for key, value in (("version", version), ("uri", uri)):
        node = _value_node(model, key) if model is not None else None
        if not isinstance(node, yaml.ScalarNode):
            raise UserError(f"the spec has no scalar model.{key} to bump", "give the spec a model section")
        edits.append((node.start_mark.index, node.end_mark.index, json.dumps(value)))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text
