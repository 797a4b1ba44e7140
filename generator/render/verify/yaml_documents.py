"""Reading rendered YAML the way the strictest consumer would: every document, and no duplicate keys
(PyYAML keeps the last one silently; kubectl and GitLab refuse or disagree)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import yaml

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


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
            _no_duplicate_keys(node)
            yield loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()


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
