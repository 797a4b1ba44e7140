"""Load mlops.yaml: bytes → YAML nodes → plain data, keeping the position of every value."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from generator.errors import Problem, SpecError, UserError
from generator.frozen import frozen
from generator.spec.yaml_syntax import SyntaxExplainer
from generator.yaml_data import Loader as _Loader
from generator.yaml_data import data as _data

MAX_SPEC_BYTES = 1_000_000
MAX_NODES = 100_000

PathKey = tuple[str | int, ...]


@frozen
class Position:
    line: int  # 1-based
    column: int  # 1-based


@frozen
class LoadedSpec:
    """The raw spec with the positions of its keys and values."""

    file: str  # as the user named it, for messages
    path: Path
    data: Any
    key_positions: dict[PathKey, Position]
    value_positions: dict[PathKey, Position]
    sha256: str = ""  # of the file's bytes: part of what the manifest's inputs digest covers

    def position(self, path: PathKey, *, key: bool = False) -> Position:
        """The position of the value (or key) at `path`, else of its nearest ancestor."""
        table = self.key_positions if key else self.value_positions
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.value_positions:
                return self.value_positions[probe]
            probe = probe[:-1]
        return self.value_positions.get((), Position(1, 1))


@frozen
class Locator:
    """Where each spec path is, from the loader's index, for problems found on the typed model.

    `unreadable` holds the paths whose values the schema rejected (validation.Readable): the model
    holds stand-ins there, so a rule that reads one stands aside.
    """

    spec: LoadedSpec
    unreadable: frozenset[PathKey] = frozenset()

    def problem(self, path: PathKey, message: str, hint: str = "", rule: str = "", *, key: bool = False) -> Problem:
        pos = self.spec.position(path, key=key)
        return Problem(self.spec.file, pos.line, pos.column, _dotted(path), message, hint, rule)

    def present(self, path: PathKey) -> bool:
        """Whether the spec itself holds `path` (rather than normalise filling in a default)."""
        return tuple(path) in self.spec.value_positions

    def readable(self, *paths: PathKey) -> bool:
        """No path, nor any of its ancestors, was rejected by the schema."""
        return not any(path[:n] in self.unreadable for path in paths for n in range(1, len(path) + 1))


def _problem(file: str, line: int, column: int, message: str, hint: str, rule: str) -> SpecError:
    return SpecError(problems=[Problem(file, line, column, "", message, hint, rule)])


def load_spec(path: Path, display: str | None = None) -> LoadedSpec:
    file = display or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise _problem(file, 1, 1, f"the spec is {size:,} bytes; the limit is {MAX_SPEC_BYTES:,}",
                           "a spec is a short YAML file; is this the right file?", "size")
        raw = path.read_bytes()
    except IsADirectoryError:
        raise UserError(f"{file}: is a directory, not a spec file",
                        f"name the spec file, e.g. {file.rstrip('/')}/mlops.yaml") from None
    except FileNotFoundError:
        raise UserError(f"{file}: no such file", "create one with `mlopsgen init`, or check the path") from None
    except PermissionError:
        raise UserError(f"{file}: permission denied") from None
    return parse_spec(raw, file, path)


def parse_spec(raw: bytes, file: str, path: Path) -> LoadedSpec:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _problem(file, line, column, f"byte 0x{raw[exc.start]:02x} is not valid UTF-8",
                       "save the file as UTF-8", "encoding") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = _Loader(text)
    try:
        return replace(_load_document(loader, file, path, text), sha256=hashlib.sha256(raw).hexdigest())
    finally:
        loader.dispose()


def _load_document(loader: Any, file: str, path: Path, text: str) -> LoadedSpec:
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(text, exc, file) from None
    except yaml.YAMLError as exc:
        raise _problem(file, 1, 1, f"YAML error: {exc}", "", "yaml") from None
    if root is None:
        raise _problem(file, 1, 1, "the spec is empty",
                       "start from an example: mlopsgen init, or examples/ in the mlopsgen repository",
                       "empty")
    if not isinstance(root, yaml.MappingNode):
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        raise _problem(file, root.start_mark.line + 1, root.start_mark.column + 1,
                       f"the spec must be a mapping of sections, not {kind}",
                       "the top level holds apiVersion, kind, metadata, model, ...", "type")

    index = _NodeIndex(file)
    index.walk(root, ())
    if index.problems:
        raise SpecError(problems=index.problems)
    try:
        data = _data(root, loader)  # as SafeLoader constructs it (duplicate keys were reported above)
    except yaml.MarkedYAMLError as exc:  # {a: 1}: x, say: a mapping as a key
        raise _syntax_error(text, exc, file) from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise _problem(file, 1, 1, f"YAML value error: {exc}", "", "yaml") from None
    return LoadedSpec(file, path, data, index.keys, index.values)


class _NodeIndex:
    """Records positions and reports duplicate keys; bounded so alias bombs cannot hang it."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.keys: dict[PathKey, Position] = {}
        self.values: dict[PathKey, Position] = {}
        self.problems: list[Problem] = []
        self.visited = 0

    def walk(self, node: yaml.Node, path: PathKey) -> None:
        self.visited += 1
        if self.visited > MAX_NODES:
            if self.visited == MAX_NODES + 1:
                self.problems.append(Problem(self.file, node.start_mark.line + 1, node.start_mark.column + 1,
                                             _dotted(path), f"the spec has more than {MAX_NODES:,} values",
                                             "YAML aliases can multiply a document; write it out plainly",
                                             "size"))
            return
        self.values.setdefault(path, _pos(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, yaml.Node] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
                if key == "<<":
                    continue
                child = (*path, key)
                if key in seen:
                    first = seen[key].start_mark.line + 1
                    self.problems.append(Problem(
                        self.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                        _dotted(child), f"duplicate key '{key}' (first defined on line {first})",
                        "YAML keeps only one of them silently: delete or merge the other", "duplicate-key"))
                    continue
                seen[key] = key_node
                self.keys.setdefault(child, _pos(key_node))
                self.walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, (*path, i))


def _syntax_error(text: str, exc: yaml.MarkedYAMLError, file: str) -> SpecError:
    (line, column), message, hint = SyntaxExplainer(text, exc, _Loader).explain()
    return _problem(file, line + 1, column + 1, message, hint, "yaml")


def _pos(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _dotted(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


dotted_path = _dotted
