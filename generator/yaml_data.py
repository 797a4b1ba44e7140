"""YAML nodes to Python data as PyYAML's SafeLoader constructs them, without most of its cost.

The C composer builds the nodes; strings, plain mappings and sequences are built here, other
scalars once per (tag, text) for the process, and what is left (merge keys, keys that are
collections, other tags) by the loader itself. A repeated key is refused on the way, as strict
consumers do (PyYAML keeps the last one silently; kubectl and GitLab refuse or disagree).
tests/test_verifiers.py checks the result equals SafeLoader's on every golden file.
"""

from __future__ import annotations

import datetime
import operator
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

_TAG = "tag:yaml.org,2002:"
_STR, _MAP, _SEQ, _MERGE = _TAG + "str", _TAG + "map", _TAG + "seq", _TAG + "merge"
_PLAIN_TAGS: dict[str, str] = {}  # a plain scalar's text -> the tag SafeLoader resolves it to
MAX_PLAIN_TAGS = 65_536


class Loader(_SafeLoader):
    """SafeLoader, remembering what each plain scalar resolves to: resolving is a pure function of the
    text (no path resolvers are registered), and the same keys and values recur in every manifest.

    Without path resolvers, Resolver.descend_resolver and ascend_resolver return at once; the
    composer still calls both for every node, so they are C callables that do nothing with their
    arguments (a builtin function is not bound to the instance, so it gets only those).
    """

    descend_resolver = operator.is_  # type: ignore[assignment]  # (parent, index) -> ignored
    ascend_resolver = tuple  # type: ignore[assignment]  # () -> ignored

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode:  # without path resolvers, a collection's tag is its kind's
            return _MAP if kind is yaml.MappingNode else _SEQ
        if not implicit[0]:  # quoted: a string
            return _STR
        tag = _PLAIN_TAGS.get(value)
        if tag is None:
            tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            if len(_PLAIN_TAGS) < MAX_PLAIN_TAGS:
                _PLAIN_TAGS[value] = tag
        return tag


def data(node: yaml.Node, loader: Any) -> Any:
    """The node as SafeLoader would construct it (the loader's), refusing repeated keys on the way."""
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _SEQ:
        return [data(item, loader) for item in node.value]
    if tag == _MAP:
        mapping: dict[Any, Any] = {}
        seen = set()
        for key, value in node.value:
            if key.__class__ is not yaml.ScalarNode or key.tag == _MERGE:
                return _constructed(node, loader)
            text = key.value
            if text in seen:  # the text, as consumers that read keys as strings see it
                raise ValueError(f"duplicate key '{text}' on line {key.start_mark.line + 1}")
            seen.add(text)
            mapping[text if key.tag == _STR else _scalar(key, loader)] = data(value, loader)
        return mapping
    if node.__class__ is yaml.ScalarNode:
        return _scalar(node, loader)
    return _constructed(node, loader)


_SCALARS: dict[tuple[str, str], Any] = {}  # (tag, text) -> the immutable value SafeLoader makes of it
MAX_SCALARS = 65_536
_IMMUTABLE = (int, float, bool, type(None), str, bytes, datetime.date)  # datetime.datetime is a date


def _scalar(node: yaml.ScalarNode, loader: Any) -> Any:
    key = (node.tag, node.value)
    value = _SCALARS.get(key, _SCALARS)
    if value is _SCALARS:
        value = loader.construct_object(node, deep=True)
        if isinstance(value, _IMMUTABLE) and len(_SCALARS) < MAX_SCALARS:
            _SCALARS[key] = value
    return value


def _constructed(node: yaml.Node, loader: Any) -> Any:
    _no_duplicate_keys(node)
    return loader.construct_object(node, deep=True)


def _no_duplicate_keys(node: yaml.Node) -> None:
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):  # a collection as a key: the constructor refuses it
                if key.value in seen:
                    raise ValueError(f"duplicate key '{key.value}' on line {key.start_mark.line + 1}")
                seen.add(key.value)
            _no_duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _no_duplicate_keys(item)
