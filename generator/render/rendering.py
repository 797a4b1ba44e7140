"""One Jinja environment with strict undefined, and the quoting filters blueprints use.

Blueprints never concatenate user text into code: every value passes through the filter for the
language it lands in (YAML scalar, Groovy string, shell word, JSON, Python literal). Spec text is
only ever a value, never a template, and the blueprints are mlopsgen's own: renders use a plain
environment (Jinja's sandbox checks every attribute a template reads, a tenth of a render), and
tests/test_blueprints_sandboxed.py renders every example in the immutable sandbox too, so a
blueprint that reached for anything beyond reading its values would fail there.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import sys
import tempfile
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox
import yaml

from generator import __version__
from generator.artifacts import PlannedArtifact, RenderedFile, add_marker
from generator.model import Spec
from generator.resources import blueprints_dir
from generator.yaml_data import Loader

try:
    from yaml import CSafeDumper as _Dumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _Dumper  # type: ignore[assignment]


# printable ASCII and newlines: the emitter writes such a string double-quoted with only a backslash,
# `"` and the newline escaped (tests/test_hostile_values.py compares the two on every string the examples
# render and on random text): most of what blueprints quote, PromQL and a dashboard's JSON included
_ASCII_LINES = re.compile("[ -~\n]*")


def yaml_scalar(value: Any) -> str:
    """A YAML flow scalar for any str/int/float/bool, produced by the YAML emitter itself."""
    if type(value) is str and _ASCII_LINES.fullmatch(value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if type(value) in (str, int, float, bool):  # hashable, and equal values emit the same text
        return _yaml_scalar(type(value).__name__, value)
    return _emit_scalar(value)


@lru_cache(maxsize=4096)
def _yaml_scalar(kind: str, value: Any) -> str:  # kind keeps 1, 1.0 and True apart
    return _emit_scalar(value)


def _emit_scalar(value: Any) -> str:
    if isinstance(value, str):
        text = yaml.dump(value, Dumper=_Dumper, default_style='"', width=1 << 30, allow_unicode=True)
    else:
        text = yaml.dump(value, Dumper=_Dumper, default_flow_style=True, width=1 << 30)
    return text.removesuffix("\n").removesuffix("\n...")


_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]*")


def yaml_plain(value: Any) -> str:
    """A plain (unquoted) YAML scalar, for the names and keys mlopsgen makes itself (file names,
    label keys): the value must read back as the same string, or rendering fails."""
    text = str(value)
    if not (_PLAIN.fullmatch(text) and _reads_as_string(text)):
        raise ValueError(f"{text!r} is not a plain YAML name")
    return text


@lru_cache(maxsize=4096)
def _reads_as_string(text: str) -> bool:
    return bool(yaml.load(text, Loader=Loader) == text)


_GROOVY_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_GROOVY_TABLE = str.maketrans(_GROOVY_ESCAPES)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def groovy_string(value: Any) -> str:
    """A single-quoted Groovy string literal: no GString interpolation, every quote escaped.

    Groovy reads \\uXXXX escapes before it tokenises, but only after an odd number of
    backslashes; doubling every backslash therefore also disarms them.
    """
    text = str(value)
    if _CONTROL.search(text):
        raise ValueError("control characters cannot be rendered into a Jenkinsfile")
    return "'" + text.translate(_GROOVY_TABLE) + "'"


def shell_word(value: Any) -> str:
    return shlex.quote(str(value))


def json_value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def python_literal(value: Any) -> str:
    """A Python literal for a str, int, float, bool or None: what `ast.literal_eval` reads back as value.

    repr() of a str escapes quotes, backslashes, newlines and every non-printable character, so the
    literal is one line that no spec text can end early. Other types are refused rather than guessed at.
    """
    if value is None or type(value) in (str, bool, int) or (type(value) is float and math.isfinite(value)):
        return repr(value)
    raise TypeError(f"no Python literal for {type(value).__name__} {value!r}")


def _bytecode_cache(kind: str) -> jinja2.BytecodeCache | None:
    """Compiled blueprints cached per user (compiling them is most of a cold render).

    Keyed by each blueprint's source checksum, so an edited blueprint is never served stale.
    MLOPSGEN_CACHE_DIR overrides the place; an empty value, or a place that cannot be written,
    turns the cache off. Output does not depend on the cache.
    """
    configured = os.environ.get("MLOPSGEN_CACHE_DIR")
    if configured == "":
        return None
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    base = Path(configured) if configured else user_cache / "mlopsgen"
    # one place per kind of environment: sandboxed code calls through the environment, plain code
    # does not, and Jinja keys its cache by the blueprint's source alone
    directory = base / f"jinja-{__version__}-py{sys.version_info[0]}{sys.version_info[1]}-{kind}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-")  # noqa: SIM115 - closed right away
        probe.close()
    except OSError:
        return None
    return jinja2.FileSystemBytecodeCache(str(directory))


@cache
def environment(sandboxed: bool = False) -> jinja2.Environment:
    """The environment renders use; sandboxed=True: the same in Jinja's immutable sandbox (tests)."""
    kind = jinja2.sandbox.ImmutableSandboxedEnvironment if sandboxed else jinja2.Environment
    env = kind(
        loader=jinja2.FileSystemLoader(str(blueprints_dir())),
        bytecode_cache=_bytecode_cache("sandboxed" if sandboxed else "plain"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        auto_reload=False,  # the blueprints ship with mlopsgen: no stat of each one at every render
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(yq=yaml_scalar, plain=yaml_plain, groovy=groovy_string, sh=shell_word, json=json_value,
                       py=python_literal)
    return env


def render(spec: Spec, planned: PlannedArtifact) -> RenderedFile:
    if planned.literal is not None:
        return RenderedFile(planned.path, planned.literal, planned.syntax, planned.origin, planned.seed,
                            planned.executable)
    template = environment().get_template(planned.blueprint)
    body = template.render(spec=spec, **planned.context)
    body = "\n".join(line.rstrip() for line in body.split("\n"))
    body = body.strip("\n") + "\n"
    content = add_marker(planned.syntax, __version__, spec.source, body)
    return RenderedFile(planned.path, content, planned.syntax, planned.origin, planned.seed, planned.executable)
