"""Reading rendered YAML the way the strictest consumer would: every document, and no duplicate keys
(PyYAML keeps the last one silently; kubectl and GitLab refuse or disagree)."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import yaml

from generator.yaml_data import Loader, data


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
    loader = Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            yield data(node, loader)
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()
