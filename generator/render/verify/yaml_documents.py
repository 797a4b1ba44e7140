"""Reading rendered YAML the way the strictest consumer would: every document, and no duplicate keys
(PyYAML keeps the last one silently; kubectl and GitLab refuse or disagree)."""

from __future__ import annotations

import datetime
from collections.abc import Generator, Iterator
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


class _Loader(_SafeLoader):
    """SafeLoader, remembering what each plain scalar resolves to: resolving is a pure function of the
    text (no path resolvers are registered), and the same keys and values recur in every manifest."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if not implicit[0]:  # quoted: a string
            return _STR
        tag = _PLAIN_TAGS.get(value)
        if tag is None:
            tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
            if len(_PLAIN_TAGS) < MAX_PLAIN_TAGS:
                _PLAIN_TAGS[value] = tag
        return tag


def parsed_documents(text: str) -> Generator[str, None, list[Any] | None]:
    """For a verifier: `docs = yield from parsed_documents(text)` yields the parse error as the
    file's failure and gives None, or gives every document."""
    try:
        return list(yaml_documents(text))
    except ValueError as exc:
        yield str(exc)
        return None


def yaml_documents(text: str) -> Iterator[Any]:
    """Each document of a YAML stream; ValueError (the message to report) when it does not parse or
    repeats a key."""
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            yield _data(node, loader)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def _data(node: yaml.Node, loader: Any) -> Any:
    """The node as SafeLoader would construct it, refusing repeated keys on the way. Strings,
    plain mappings and sequences are built here (most of a manifest, and the constructor's
    bookkeeping is most of its cost), other scalars once per text (_scalar); the rest (merge keys,
    keys that are collections, other tags) by the loader itself. tests/test_verifiers.py checks both
    agree on every golden file."""
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _SEQ:
        return [_data(item, loader) for item in node.value]
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
            mapping[text if key.tag == _STR else _scalar(key, loader)] = _data(value, loader)
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
            if key.value in seen:
                raise ValueError(f"duplicate key '{key.value}' on line {key.start_mark.line + 1}")
            seen.add(key.value)
            _no_duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _no_duplicate_keys(item)
