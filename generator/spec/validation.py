"""Validate a loaded spec against schemas/mlops.schema.json, with every problem located.

check_schema also hands the rules (generator/spec/rules.py) a copy of the spec with each rejected value
replaced by one the schema accepts, and the paths replaced, so that schema and rule problems are
reported together, at once, each with its position, spec path and a hint. Rules the schema states as
if/then carry their message, hint and rule name in the schema (`errorMessage`, which editors show
too, `x-hint`, `x-rule`).
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING, Any, Final

from generator.errors import Problem
from generator.frozen import frozen
from generator.resources import schemas_dir
from generator.schemas import DRAFT_2020_12, CompiledSchema
from generator.spec.loader import LoadedSpec, PathKey, dotted_path

if TYPE_CHECKING:  # jsonschema is imported only to explain a spec the schema refuses (generator/schemas.py)
    from jsonschema.exceptions import ValidationError

SPEC_SCHEMA_FILE = "mlops.schema.json"

# Regular expressions are no help to a reader: say what each pattern in the schema means.
PATTERN_WORDS = {
    "^[a-z]([-a-z0-9]*[a-z0-9])?$": "a DNS-1123 label: lowercase letters, digits and '-', starting with a letter "
    "and ending with a letter or digit",
    "^[1-9][0-9]*(s|m|h)$": "a duration such as 30s, 10m or 2h",
    "^([0-9]+m|[0-9]+(\\.[0-9]+)?)$": "a CPU quantity such as 500m or 2",
    "^[0-9]+(Mi|Gi)$": "a memory quantity such as 512Mi or 2Gi",
    "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$": "letters, digits, '.', '_' and '-' (at most 64)",
    "^[A-Za-z0-9_./-]+$": "a relative path of letters, digits, '.', '_', '-' and '/'",
    "^[A-Za-z0-9_.-]+$": "letters, digits, '.', '_' and '-'",
    "^[A-Za-z0-9._/-]+$": "a branch name of letters, digits, '.', '_', '-' and '/'",
    "^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$": "a relative directory such as deploy or apps/fraud-detector",
    "^[^\\s@]+@[^\\s@]+$": "an e-mail address",
    "^/[A-Za-z0-9_./-]*$": "an absolute URL path such as /healthz",
    "^[A-Za-z0-9_.\\[\\]=<>~!,+/:@-]+$": "a pip requirement such as mlopsgen==0.1.0, or a wheel's path or URL",
    "^[A-Za-z0-9._-]{0,63}$": "a label value: letters, digits, '.', '_' and '-' (at most 63)",
    "^[A-Za-z_][A-Za-z0-9_.-]{0,62}$": "a metric name: a letter or '_', then letters, digits, '_', '.' or '-'",
    "^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$": "a label name such as release or app.kubernetes.io/part-of",
    "^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?$": "an image repository without a tag, e.g. registry.gitlab.com/acme/model",
    "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f]*$": "text without control characters (tabs and newlines are fine)",
    # continuous training
    "^[0-9A-Za-z*/,-]+( +[0-9A-Za-z*/,-]+){4}$":
        "a five-field cron expression: minute hour day-of-month month day-of-week",
    "^(s3|gs)://[a-z0-9][a-z0-9._-]{1,62}/[^\\s'\"`$\\\\\\u0000-\\u001f\\u007f]*$":
        "an s3:// or gs:// prefix such as s3://bucket/path/",
    "^[a-z][a-z0-9+.-]*://[^\\s'\"`$\\\\\\u0000-\\u001f\\u007f]+$": "an Asset URI such as s3://bucket/path/",
    "^(s3|gs|https)://[^\\s'\"`$\\\\\\u0000-\\u001f\\u007f]+[^/\\s]$":
        "an s3://, gs:// or https:// URL without a trailing '/'",
    "^https?://[A-Za-z0-9.-]+(:[0-9]{2,5})?(/[A-Za-z0-9._~/-]*)?$": "an http(s) URL such as https://mlflow.example.com",
    "^(?!/)(?!.*\\.\\.)[A-Za-z0-9_./-]+$": "a relative path inside the repository, without '..'",
    "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$": "letters, digits, '.', '_' and '-' (at most 128)",
    "^[a-z][a-z0-9_-]{0,62}$": "an alias: lowercase letter, then letters, digits, '_' or '-'",
    "^[A-Za-z_][A-Za-z0-9_ .-]{0,127}$": "a column name",
}
URL_HINT = "a URL with no spaces, quotes, '$', backticks, backslashes or control characters"
IMAGE_HINT = ("an image reference pinned by a tag other than 'latest' or by a digest, "
              "e.g. python:3.11.9-slim-bookworm")


@cache
def spec_schema() -> dict[str, Any]:
    with open(schemas_dir() / SPEC_SCHEMA_FILE, encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    return schema


@cache
def _validator() -> CompiledSchema:
    return CompiledSchema(spec_schema(), default_draft=DRAFT_2020_12)


@frozen
class Readable:
    """The spec's data with every value the schema rejected replaced by one it accepts, so that it
    normalises and the rules can check everything else in the same run; `unreadable` holds the
    paths replaced, which the rules must not read."""

    data: dict[str, Any]
    unreadable: frozenset[PathKey] = frozenset()


def check_schema(spec: LoadedSpec) -> tuple[list[Problem], Readable | None]:
    """Every schema problem, and the spec made schema-valid for the rules (None when it cannot be)."""
    errors = _validator().errors(spec.data)
    if not errors:
        return [], Readable(spec.data)
    problems = _unique([p for error in errors for p in _explain(spec, error)])
    return problems, _repair(spec.data, errors)


REPAIR_ROUNDS = 4  # a stand-in may break a rule that held before (an if/then); a few rounds settle it
_ABSENT: Final = object()


def _repair(data: Any, errors: list[ValidationError]) -> Readable | None:
    """Each rejected value replaced by the field's default or first example (or deleted, where the
    field is optional), until the schema accepts the spec."""
    data = copy.deepcopy(data)
    unreadable: set[PathKey] = set()
    for _ in range(REPAIR_ROUNDS):
        if not all(_mend(data, error, unreadable) for error in errors):
            return None
        errors = _validator().errors(data)
        if not errors:
            return Readable(data, frozenset(unreadable))
    return None


def _mend(data: Any, error: ValidationError, unreadable: set[PathKey]) -> bool:
    path: PathKey = tuple(error.absolute_path)
    kind = str(error.validator)
    target = _at(data, path)
    if kind == "required" and isinstance(target, dict):
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else ""
        return missing in target or _replace(data, (*path, missing), unreadable)
    if kind == "additionalProperties" and isinstance(target, dict):
        allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        extras = [(*path, extra) for extra in target if extra not in allowed]
        return all(_delete(data, extra, unreadable) for extra in extras)
    if isinstance(target, dict) and isinstance(error.instance, str) and error.instance in target:
        return _delete(data, (*path, error.instance), unreadable)  # propertyNames: a key is wrong
    if kind in ("None", "not") and error.validator_value in (None, {}):  # a field not allowed here
        return _delete(data, path, unreadable)
    return _replace(data, path, unreadable)


def _replace(data: Any, path: PathKey, unreadable: set[PathKey]) -> bool:
    field = _field_schema(path)
    stand_in = field.get("default", (field.get("examples") or [_ABSENT])[0]) if field else _ABSENT
    parent: Any = _at(data, path[:-1]) if path else _ABSENT
    if stand_in is _ABSENT:
        return _delete(data, path, unreadable)
    last: Any = path[-1] if path else None
    if not (isinstance(parent, dict) or (isinstance(parent, list) and _holds(parent, last))):
        return False
    parent[last] = copy.deepcopy(stand_in)
    unreadable.add(path)
    return True


def _delete(data: Any, path: PathKey, unreadable: set[PathKey]) -> bool:
    parent = _at(data, path[:-1]) if path else _ABSENT
    if not isinstance(parent, dict):
        return False  # a list item: deleting it would shift every later index off its position
    parent.pop(path[-1], None)
    unreadable.add(path)
    return True


def _field_schema(path: PathKey) -> dict[str, Any] | None:
    """The schema of the field at an instance path, following properties, items and maps."""
    node: Any = spec_schema()
    for part in path:
        if not isinstance(node, dict):
            return None
        if isinstance(part, int):
            node = node.get("items")
        else:
            node = node.get("properties", {}).get(part, node.get("additionalProperties"))
    return node if isinstance(node, dict) else None


def _at(data: Any, path: PathKey) -> Any:
    for part in path:
        if not _holds(data, part):
            return _ABSENT
        data = data[part]
    return data


def _holds(container: Any, part: str | int) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            out.append(p)
    return out


def problem_at(spec: LoadedSpec, path: PathKey, message: str, hint: str = "", rule: str = "",
               *, key: bool = False) -> Problem:
    pos = spec.position(path, key=key)
    return Problem(spec.file, pos.line, pos.column, dotted_path(path), message, hint, rule)


def _explain(spec: LoadedSpec, error: ValidationError) -> Iterator[Problem]:
    path: PathKey = tuple(error.absolute_path)
    kind = str(error.validator)
    schema = error.schema if isinstance(error.schema, dict) else {}
    value = error.instance

    if "errorMessage" in schema:  # a rule stated in the schema (if/then), worded in it
        forbidden = kind == "not" and error.validator_value == {}
        yield problem_at(spec, path, str(schema["errorMessage"]), str(schema.get("x-hint", "")),
                         str(schema.get("x-rule", kind)), key=forbidden)
        return
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(schema.get("properties", {}))
        for extra in sorted(set(value) - set(allowed)):
            close = difflib.get_close_matches(extra, allowed, n=1, cutoff=0.6)
            hint = f"did you mean '{close[0]}'?" if close else _allowed(allowed)
            yield problem_at(spec, (*path, extra), f"unknown field '{extra}'", hint, kind, key=True)
        return
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        prop = schema.get("properties", {}).get(missing, {})
        hint = f"add '{missing}'" + (f", for example: {missing}: {_example(prop)}" if prop.get("examples") else "")
        yield problem_at(spec, path, f"missing required field '{missing}'", hint, kind)
        return
    if kind == "enum":
        options = [str(o) for o in schema.get("enum", [])]
        close = difflib.get_close_matches(str(value), options, n=1, cutoff=0.5)
        hint = (f"did you mean '{close[0]}'? " if close else "") + _allowed(options)
        yield problem_at(spec, path, f"{_show(value)} is not an allowed value", hint, kind)
        return
    if kind == "const":
        yield problem_at(spec, path, f"must be {_show(error.validator_value)}, not {_show(value)}",
                         f"write {_show(error.validator_value)}", kind)
        return
    if kind == "pattern":
        pattern = str(error.validator_value)
        words = PATTERN_WORDS.get(pattern)
        if words is None:
            words = URL_HINT if "://" in pattern else IMAGE_HINT if "latest" in pattern else f"text matching {pattern}"
        hint = f"for example: {_example(schema)}" if schema.get("examples") else f"expected {words}"
        yield problem_at(spec, path, f"{_show(value)} is not {words}", hint, kind)
        return
    if kind == "type":
        expected = error.validator_value
        hint = f"for example: {_example(schema)}" if schema.get("examples") else ""
        if expected == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
            hint = f"put it in quotes: \"{value}\""
        yield problem_at(spec, path, f"expected {_a(expected)}, got {_json_type(value)} {_show(value)}", hint, kind)
        return
    if kind == "False":
        yield problem_at(spec, path, "this field is not allowed here", "delete it", "not-allowed", key=True)
        return
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "greater than",
                 "exclusiveMaximum": "less than"}[kind]
        yield problem_at(spec, path, f"{_show(value)} must be {words} {error.validator_value}", "", kind)
        return
    if kind in ("minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength"):
        words = "at least" if kind.startswith("min") else "at most"
        unit = {"Items": "item", "Properties": "entry", "Length": "character"}[kind[3:]]
        n = error.validator_value
        yield problem_at(spec, path, f"must have {words} {n} {unit}{'s' if n != 1 else ''}", "", kind)
        return
    if kind == "uniqueItems":
        yield problem_at(spec, path, "items must be unique", "remove the repeated entry", kind)
        return
    if kind == "propertyNames":
        yield problem_at(spec, path, f"invalid name: {error.message}", "", kind)
        return
    if error.context:  # allOf/if-then and friends: the inner errors say more
        for inner in error.context:
            yield from _explain(spec, inner)
        return
    yield problem_at(spec, path, error.message, "", kind)


def _allowed(options: list[str]) -> str:
    return "allowed: " + ", ".join(options)


def _example(schema: dict[str, Any]) -> str:
    return json.dumps(schema["examples"][0])


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _a(expected: Any) -> str:
    names: list[str] = expected if isinstance(expected, list) else [str(expected)]
    words = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
             "number": "a number", "boolean": "true or false", "null": "nothing"}
    return " or ".join(words.get(name, name) for name in names)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if value is None:
        return "null"
    return type(value).__name__.replace("str", "string").replace("int", "integer").replace("float", "number")
