"""Property test: every spec the schema accepts either renders or is rejected with a located message,
and `mlopsgen validate` and `mlopsgen render` agree on which.

Specs are generated at test time from schemas/mlops.schema.json itself (never from a copy), so new
fields and enum values are covered as soon as they land in the schema. hypothesis-jsonschema
understands drafts 4/6/7 plus if/then/else, so the loaded schema is pre-processed first
(`generation_schema`): `$schema`/`$id` dropped, 2020-12-only keywords mapped to their draft-7
spelling or dropped, arrays and maps capped in size (speed), and any `pattern` that Hypothesis
cannot generate from replaced by an `enum` of the field's own `examples` (plus a few hand-picked
values that match it). Each generated spec is then checked against the REAL schema with
Draft202012Validator and discarded with `assume()` if the pre-processing let it through wrongly.

Each accepted spec goes in-process through `generator.cli.main(["validate", ...])`, then
`main(["render", ...])`. Semantic rules run inside validate, so validate's verdict is binding:

* validate exits 0: render must exit 0 too. Every rendered YAML file parses, and Jenkinsfile /
  .gitlab-ci.yml / Dockerfile exist exactly when the spec asks for them (verification against the
  vendored schemas already ran inside the build; a VerificationError there is a bug, exit 3);
* validate exits 1: a semantic rule rejected the spec; stderr holds "mlops.yaml:LINE:COL:" and no
  traceback, and render rejects it the same way (exit 1, a SpecError, nothing written);
* anything else fails the test: render failing a spec validate accepted (whatever its exit code),
  an exit 3 (a traceback, a VerificationError), a rejection without a location, ...

Determinism: `derandomize=True` seeds Hypothesis from the test function itself, so every CI run
generates the same 200 specs for a given schema and Hypothesis version (hence the pinned
`hypothesis>=6.100,<6.110` in the `test` extra); `database=None` keeps no state between runs. No
decision depends on time or machine speed: whether a `pattern` is generated from or replaced by an
`enum` is decided by a fixed number of derandomized draws, not by how long they take. To
explore other specs locally, run with `--hypothesis-seed=N` after removing `derandomize`, or
raise PROPERTY_EXAMPLES.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, find, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import HypothesisException

# Hypothesis' caches (unicode tables, patches of failing examples) go to the temp dir, not into the
# work tree as .hypothesis/; set before hypothesis_jsonschema, which builds character tables on import.
set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "mlopsgen-hypothesis"))

from hypothesis_jsonschema import from_schema  # noqa: E402

import generator.commands.render as render_command  # noqa: E402
from generator.cli import main  # noqa: E402
from generator.errors import EXIT_OK, EXIT_USER_ERROR, SpecError, VerificationError  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO / "schemas" / "mlops.schema.json"
PROPERTY_EXAMPLES = int(os.environ.get("MLOPSGEN_PROPERTY_EXAMPLES", "200"))

# Size caps applied to the generation schema only (the real schema still validates every spec).
MAX_ITEMS = 3  # arrays: environments, steps, slos, entrypoint, owners, ...
MAX_MAP_PROPERTIES = 3  # free-form maps: thresholds, nodeSelector, ruleSelector, ...
# Each optional field appears in about 1 spec out of OPTIONAL_ODDS: with every optional field at
# 50 %, nearly every spec combines features a semantic rule forbids, and hardly any renders.
OPTIONAL_ODDS = 4
SMALL_INT_SPAN = 2

# Values tried, besides a field's own `examples`, when its pattern has to be replaced by an enum.
# Only those the real pattern (and length bounds) accept are used.
EXTRA_STRING_VALUES = [
    "a", "x1", "prod", "team-a", "1.0.0", "v2", "main", "release/1.2", "5m", "90s", "2h", "250m", "2",
    "512Mi", "4Gi", "/", "/healthz", "src", "requirements.txt", "alice@example.com",
    "python:3.11.9-slim-bookworm", "registry.example.com:5000/ml/serve:1.2.3",
    "ghcr.io/acme/app:v1@sha256:" + "0" * 64, "python@sha256:" + "ab" * 32,
    "s3://bucket/model", "https://example.com/x.git", "http://prometheus:9090",
    "echo \"$(id)\" '${HOME}' `whoami`; rm -rf /", "ünïcödé ✓ 模型", "{{ x }} {% raw %} #}",
]

# Keywords whose value maps names to subschemas, and keywords whose value is data, not a schema.
SCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "dependencies")
DATA_KEYWORDS = ("examples", "default", "const", "enum", "required", "type", "description", "title")

YAML_SUFFIXES = (".yaml", ".yml")
# Crashes found by this test, one minimal spec each. While a crash is open its file has a line
# "# signature: TEXT"; a crash whose output holds TEXT is counted, not failed, so the other specs
# keep being checked (test_crash_specs xfails on it). Fixed crashes stay as regression specs.
CRASHES = REPO / "tests" / "specs" / "crashes"
KNOWN_CRASHES = {m.group(1).strip(): path.name for path in sorted(CRASHES.glob("*.yaml"))
                 for m in re.finditer(r"^# signature: (.+)$", path.read_text(encoding="utf-8"), re.M)}
LOCATED = re.compile(r"mlops\.yaml:\d+:\d+: ")

# Filled by the property test, printed by test_property_outcome_summary.
OUTCOMES: Counter[str] = Counter()
REJECTED_BY_RULE: Counter[str] = Counter()
KNOWN_CRASH_HITS: Counter[str] = Counter()
TIMINGS: dict[str, float] = {}


# --------------------------------------------------------------------------------------------
# The generation schema


def load_real_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


# The probe is a bounded, deterministic search: a fixed number of derandomized draws, no shrinking
# (whose time limit is wall-clock), no deadline and no health checks (both time-based). Its verdict,
# and so the generation schema and every spec drawn from it, depend only on the pattern and the
# Hypothesis version, never on how busy the machine is (test_verdicts_do_not_depend_on_machine_speed).
PROBE_DRAWS = 4
_probe_settings = settings(max_examples=PROBE_DRAWS, database=None, deadline=None, derandomize=True,
                           phases=(Phase.generate,), suppress_health_check=list(HealthCheck))


# Regex constructs Hypothesis may not support or may be slow on; patterns with none of them only
# need to compile, patterns with any are also tried on a few draws.
_EXOTIC_REGEX = re.compile(r"\(\?|\\[upPNxk0-9]|\{\d{3,}")


def _pattern_is_generatable(pattern: str) -> bool:
    """Can hypothesis-jsonschema draw strings matching `pattern`: 3 matching values within PROBE_DRAWS draws?"""
    try:
        compiled = re.compile(pattern)
        strategy = from_schema({"type": "string", "pattern": pattern})
        strategy.validate()
        if not _EXOTIC_REGEX.search(pattern):
            return True
        seen: list[str] = []

        def check(value: str) -> bool:
            if not compiled.search(value):
                raise AssertionError(f"{value!r} does not match {pattern!r}")
            seen.append(value)
            return len(seen) >= 3

        find(strategy, check, settings=_probe_settings)
        return True
    except (re.error, HypothesisException, AssertionError, NotImplementedError, ValueError, TypeError):
        return False


def _enum_for_pattern(node: dict[str, Any], where: str) -> list[str]:
    compiled = re.compile(node["pattern"])
    low, high = node.get("minLength", 0), node.get("maxLength", float("inf"))
    values = [v for v in [*node.get("examples", []), *EXTRA_STRING_VALUES]
              if isinstance(v, str) and compiled.search(v) and low <= len(v) <= high]
    values = list(dict.fromkeys(values))
    if not values:
        raise AssertionError(f"{where}: Hypothesis cannot generate pattern {node['pattern']!r} and neither the "
                             "field's `examples` nor EXTRA_STRING_VALUES match it: add `examples` to the schema")
    return values


def generation_schema(real: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The real schema rewritten for hypothesis-jsonschema; also returns the fields given an enum."""
    schema = copy.deepcopy(real)
    verdicts: dict[str, bool] = {}
    replaced: list[str] = []

    def visit(node: Any, where: str) -> Any:
        if isinstance(node, list):
            return [visit(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        node = dict(node)
        for key in ("$schema", "$id", "$comment", "$anchor", "$dynamicAnchor", "unevaluatedProperties",
                    "unevaluatedItems"):
            node.pop(key, None)
        # 2020-12 spellings -> draft 7 (hypothesis-jsonschema's dialect)
        if "prefixItems" in node:
            rest = node.pop("items", None)
            node["items"] = node.pop("prefixItems")
            if rest is not None:
                node["additionalItems"] = rest
        if "dependentRequired" in node or "dependentSchemas" in node:
            node["dependencies"] = {**node.pop("dependentRequired", {}), **node.pop("dependentSchemas", {})}
        if "$defs" in node:
            node["definitions"] = node.pop("$defs")
        if isinstance(node.get("$ref"), str):
            node["$ref"] = node["$ref"].replace("#/$defs/", "#/definitions/")
        # keep generated documents small: the real schema's bounds are checked later anyway
        if node.get("type") == "array" or "items" in node:
            low = node.get("minItems", 0)
            node["maxItems"] = min(node.get("maxItems", MAX_ITEMS), max(low, MAX_ITEMS))
        if isinstance(node.get("additionalProperties"), dict) or "patternProperties" in node:
            low = max(node.get("minProperties", 0), len(node.get("required", [])))
            cap = len(node.get("properties", {})) + max(low, MAX_MAP_PROPERTIES)
            node["maxProperties"] = min(node.get("maxProperties", cap), cap)
        pattern = node.get("pattern")
        if isinstance(pattern, str) and node.get("type", "string") == "string" and "enum" not in node:
            if pattern not in verdicts:
                verdicts[pattern] = _pattern_is_generatable(pattern)
            if not verdicts[pattern]:
                node["enum"] = _enum_for_pattern(node, where)
                node.pop("pattern")
                replaced.append(where)
        result: dict[str, Any] = {}
        for key, value in node.items():
            inner = f"{where}.{key}" if where else key
            if key in SCHEMA_MAPS and isinstance(value, dict):  # name -> subschema
                result[key] = {name: visit(sub, f"{inner}.{name}") for name, sub in value.items()}
            elif key in DATA_KEYWORDS or not isinstance(value, (dict, list)):
                result[key] = value
            else:
                result[key] = visit(value, inner)
        return result

    return visit(schema, ""), replaced


REAL_SCHEMA = load_real_schema()
_started = time.perf_counter()
GENERATION_SCHEMA, ENUM_FIELDS = generation_schema(REAL_SCHEMA)
TIMINGS["prepare schema"] = time.perf_counter() - _started
REAL_VALIDATOR = jsonschema.Draft202012Validator(
    REAL_SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

# Keywords that make an object or array node more than "these fields" / "a list of these": such a
# node (and everything below it) is left to hypothesis-jsonschema as a whole.
_COMBINING = {"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$ref", "patternProperties", "dependencies",
              "propertyNames", "minProperties", "maxProperties", "contains", "additionalItems", "enum", "const"}


_ANNOTATIONS = {"errorMessage", "x-hint", "x-rule", "description", "$comment"}


def _forbids_only(branch: Any) -> bool:
    """A then/else branch that only forbids fields (`false`, `{"not": {}}`, `not` of required
    fields), nested in `properties` or `allOf`: a spec breaking it is repaired by deleting fields."""
    if branch is False:
        return True
    if not isinstance(branch, dict):
        return False
    keys = branch.keys() - _ANNOTATIONS
    if keys == {"not"}:
        inner = branch["not"]
        return inner == {} or (isinstance(inner, dict) and inner.keys() == {"anyOf"}
                               and all(isinstance(a, dict) and a.keys() == {"required"} for a in inner["anyOf"]))
    if keys == {"properties"}:
        return all(_forbids_only(sub) for sub in branch["properties"].values())
    if keys == {"allOf"}:
        return all(_forbids_only(sub) for sub in branch["allOf"])
    return False


def _requires_only(branch: Any) -> bool:
    return isinstance(branch, dict) and branch.keys() - _ANNOTATIONS == {"required"}


def _repairable(entry: Any, node: dict[str, Any]) -> bool:
    """A conditional whose branches forbid fields, or require one where deleting the `if`'s own
    required field (optional in the node) makes the conditional not apply."""
    if not (isinstance(entry, dict) and "if" in entry and entry.keys() <= {"if", "then", "else"} | _ANNOTATIONS):
        return False
    guards = entry["if"].get("required", []) if isinstance(entry["if"], dict) else []
    optional_guards = bool(guards) and not set(guards) & set(node.get("required", []))
    return all(_forbids_only(entry[k]) or (k == "then" and _requires_only(entry[k]) and optional_guards)
               for k in ("then", "else") if k in entry)


_VALIDATORS: dict[int, Any] = {}  # id of a generation-schema node (alive for the session) -> its validator


def _validator_for(schema: Any) -> Any:
    """A compiled validator per conditional node, built once rather than on every draw."""
    if id(schema) not in _VALIDATORS:
        _VALIDATORS[id(schema)] = jsonschema.Draft202012Validator(schema)
    return _VALIDATORS[id(schema)]


def _repair(value: Any, conditionals: list[dict[str, Any]]) -> Any:
    """Make a generated object meet its conditionals: delete the fields a branch forbids, or the
    `if`'s guard field when a branch requires a field the object lacks."""
    value = copy.deepcopy(value)
    for _ in range(4):
        changed = False
        for entry in conditionals:
            applies = _validator_for(entry["if"]).is_valid(value)
            branch = entry.get("then" if applies else "else")
            if branch is None or _validator_for(branch).is_valid(value):
                continue
            changed = True
            if not _forbids_only(branch):
                for key in entry["if"]["required"]:
                    value.pop(key, None)
                continue
            _delete_forbidden(value, branch)
        if not changed:
            break
    return value


def _delete_forbidden(value: Any, branch: Any) -> None:
    """Delete from `value` every field a forbid-only branch (see _forbids_only) forbids."""
    if not isinstance(value, dict) or not isinstance(branch, dict):
        return
    for sub in branch.get("allOf", []):
        _delete_forbidden(value, sub)
    for group in branch.get("not", {}).get("anyOf", []):
        for key in group["required"]:
            value.pop(key, None)
    for key, sub in branch.get("properties", {}).items():
        if sub is False or (isinstance(sub, dict) and sub.get("not") == {}):
            value.pop(key, None)
        else:
            _delete_forbidden(value.get(key), sub)


def strategy_for(node: Any, root: dict[str, Any]) -> st.SearchStrategy[Any]:
    """hypothesis-jsonschema merges and re-canonicalises object schemas on every draw, which makes one
    spec cost ~1.5 s; plain "object with these properties" and "list of these" nodes are therefore
    composed here from fixed_dictionaries and lists, and everything else goes to from_schema().
    An object whose `allOf` holds only conditionals that forbid fields ("steps only with canary") or
    require one behind an optional guard is generated without them and repaired (_repair); the
    real schema still judges every spec."""
    if isinstance(node, dict) and node.get("allOf") and all(_repairable(e, node) for e in node["allOf"]):
        conditionals = node["allOf"]
        plain = {k: v for k, v in node.items() if k != "allOf"}
        return strategy_for(plain, root).map(lambda value: _repair(value, conditionals))
    if isinstance(node, dict) and not _COMBINING & node.keys():
        kind = node.get("type")
        if kind == "object" and node.get("additionalProperties") is False:
            properties = node.get("properties", {})
            required = [k for k in node.get("required", []) if k in properties]
            if len(required) == len(node.get("required", [])):
                return st.fixed_dictionaries(
                    {k: strategy_for(v, root) if k in required else _sometimes(strategy_for(v, root))
                     for k, v in properties.items()}).map(_drop_absent)
        if kind == "integer" and not {"exclusiveMinimum", "exclusiveMaximum", "multipleOf"} & node.keys():
            low, high = node.get("minimum"), node.get("maximum")
            if low is not None and high is not None:
                # mostly values near the minimum (counts, replicas, weights relate to each other),
                # sometimes anything in range
                near = st.integers(low, min(high, low + SMALL_INT_SPAN))
                return st.one_of(*[near] * 7, st.integers(low, high))
        if kind == "array" and isinstance(node.get("items"), dict):
            items = strategy_for(node["items"], root)
            size = {"min_size": node.get("minItems", 0), "max_size": node.get("maxItems", MAX_ITEMS)}
            if node.get("uniqueItems"):
                return st.lists(items, unique_by=lambda v: json.dumps(v, sort_keys=True), **size)
            return st.lists(items, **size)
    if isinstance(node, dict) and "definitions" in root:
        node = {**node, "definitions": root["definitions"]}
    # No NUL characters: the spec's free-text patterns exclude control characters anyway.
    return from_schema(node, allow_x00=False, codec="utf-8")


_ABSENT = object()


def _sometimes(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An optional field: present in about one spec out of OPTIONAL_ODDS (absent shrinks first)."""
    return st.one_of(*[st.just(_ABSENT)] * (OPTIONAL_ODDS - 1), strategy)


def _drop_absent(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not _ABSENT}


SPECS = strategy_for(GENERATION_SCHEMA, GENERATION_SCHEMA)


# --------------------------------------------------------------------------------------------
# Running one spec


class _BuildRecorder:
    """Wraps engine.build as the render command calls it, to see which exception ended a run."""

    def __init__(self) -> None:
        self.error: BaseException | None = None
        self._real = render_command.build

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._real(*args, **kwargs)
        except BaseException as exc:
            self.error = exc
            raise


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="mlopsgen-prop-") as tmp:
        yield Path(tmp)


def _validate(spec_file: Path) -> tuple[int, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["validate", str(spec_file)])
    return code, stderr.getvalue()


def _render(spec_file: Path, out: Path) -> tuple[int, str, str, BaseException | None]:
    recorder = _BuildRecorder()
    stdout, stderr = io.StringIO(), io.StringIO()
    with mock.patch.object(render_command, "build", recorder), \
            contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["render", str(spec_file), "--out", str(out)])
    return code, stdout.getvalue(), stderr.getvalue(), recorder.error


def _check_rendered(spec: dict[str, Any], out: Path) -> None:
    files = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
    assert files, "render exited 0 but wrote nothing"
    for name, path in files.items():
        if name.endswith(YAML_SUFFIXES):
            try:
                list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
            except yaml.YAMLError as exc:
                raise AssertionError(f"rendered {name} does not parse as YAML: {exc}") from exc
    targets = spec["ci"].get("targets", [])
    assert ("Jenkinsfile" in files) == ("jenkins" in targets), f"Jenkinsfile vs ci.targets {targets}"
    assert (".gitlab-ci.yml" in files) == ("gitlab" in targets), f".gitlab-ci.yml vs ci.targets {targets}"
    assert "Dockerfile" in files, "no Dockerfile rendered"


@settings(
    max_examples=PROPERTY_EXAMPLES,
    deadline=None,
    derandomize=True,  # same specs on every run for a given schema + Hypothesis version; no seed to record
    database=None,  # nothing kept between runs (derandomized runs would not use it anyway)
    phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(spec=SPECS)
def test_valid_specs_render_or_are_rejected_with_a_located_message(spec: dict[str, Any]) -> None:
    errors = list(REAL_VALIDATOR.iter_errors(spec))
    if errors:
        OUTCOMES["discarded: invalid against the real schema"] += 1
    assume(not errors)
    text = yaml.safe_dump(spec, sort_keys=False)  # non-ASCII as escapes: NEL, LS, PS would not round-trip raw
    assert yaml.safe_load(text) == spec, f"the spec does not survive a YAML round trip (a test problem): {spec!r}"
    with _workdir() as tmp:
        spec_file, out = tmp / "mlops.yaml", tmp / "out"
        spec_file.write_text(text, encoding="utf-8")
        started = time.perf_counter()
        validated, validate_err = _validate(spec_file)
        code, _out, err, exc = _render(spec_file, out)
        TIMINGS["validate + render"] = TIMINGS.get("validate + render", 0.0) + time.perf_counter() - started
        detail = f"validate exit {validated}, render exit {code}; render stderr:\n{err}\nspec:\n{text}"
        known = [sig for sig in KNOWN_CRASHES if sig in err] if code not in (EXIT_OK, EXIT_USER_ERROR) else []
        if known:
            OUTCOMES["known crash"] += 1
            KNOWN_CRASH_HITS[KNOWN_CRASHES[known[0]]] += 1
            return
        assert "Traceback" not in validate_err, f"validate printed a traceback:\n{validate_err}\n{detail}"
        assert "Traceback" not in err, f"traceback printed: {detail}"
        assert validated in (EXIT_OK, EXIT_USER_ERROR), f"validate must exit 0 or 1: {validate_err}\n{detail}"
        assert not isinstance(exc, VerificationError), f"rendered artifacts failed verification (a bug): {detail}"
        if validated == EXIT_OK:
            assert code == EXIT_OK, f"validate accepted the spec, so render must succeed: {detail}"
            _check_rendered(spec, out)
            OUTCOMES["rendered"] += 1
            return
        assert code == EXIT_USER_ERROR, f"validate rejected the spec, so render must reject it too: {detail}"
        assert isinstance(exc, SpecError), f"exit 1 without a spec error ({type(exc).__name__}): {detail}"
        assert LOCATED.search(validate_err), f"validate rejected without a located message: {validate_err}"
        assert LOCATED.search(err), f"rejection without a located mlops.yaml:LINE:COL: message: {detail}"
        assert not out.exists() or not any(out.iterdir()), "a rejected spec still wrote files"
        OUTCOMES["rejected"] += 1
        for rule in sorted({p.rule or "(no rule)" for p in exc.problems}):
            REJECTED_BY_RULE[rule] += 1


def test_verdicts_do_not_depend_on_machine_speed() -> None:
    """The generation schema (which patterns become enums, hence which specs are drawn) comes out the
    same on a machine so slow that every clock reading is 10 s after the previous one."""
    now = 0.0

    def slow_clock() -> float:
        nonlocal now
        now += 10.0
        return now

    with mock.patch("time.perf_counter", slow_clock), mock.patch("time.monotonic", slow_clock):
        assert generation_schema(REAL_SCHEMA) == (GENERATION_SCHEMA, ENUM_FIELDS)


def test_property_outcome_summary() -> None:
    """Prints what the property test saw (run with -s to see it); runs after it in file order."""
    total = OUTCOMES["rendered"] + OUTCOMES["rejected"] + OUTCOMES["known crash"]
    if not total:
        pytest.skip("the property test did not run in this session")
    lines = [f"property specs: {total} valid specs checked: {OUTCOMES['rendered']} rendered, "
             f"{OUTCOMES['rejected']} rejected by semantic rules, {OUTCOMES['known crash']} known crashes, "
             f"{OUTCOMES['discarded: invalid against the real schema']} generated specs discarded "
             "(invalid against the real schema)"]
    lines += [f"  rejected by rule {rule}: {n}" for rule, n in REJECTED_BY_RULE.most_common()]
    lines += [f"  KNOWN CRASH tests/specs/crashes/{name}: {n}" for name, n in KNOWN_CRASH_HITS.most_common()]
    if ENUM_FIELDS:
        lines.append(f"  patterns replaced by their examples: {', '.join(ENUM_FIELDS)}")
    lines.append("  time: " + ", ".join(f"{k} {v:.1f}s" for k, v in TIMINGS.items()))
    print("\n" + "\n".join(lines))
    assert total >= PROPERTY_EXAMPLES, f"only {total} of {PROPERTY_EXAMPLES} valid specs were checked"


def _crash_specs() -> list[Any]:
    """Every spec under tests/specs/crashes/; one still carrying a "# signature:" line is an open bug."""
    params = []
    for path in sorted(CRASHES.glob("*.yaml")):
        is_open = re.search(r"^# signature: ", path.read_text(encoding="utf-8"), re.M)
        marks = [pytest.mark.xfail(strict=False, reason="open crash, see the comment at the top of the file")]
        params.append(pytest.param(path, id=path.name, marks=marks if is_open else []))
    return params


@pytest.mark.parametrize("spec_file", _crash_specs())
def test_crash_specs(spec_file: Path) -> None:
    """Each catalogued crash spec renders or is rejected with a located message, never a traceback,
    and renders exactly when `mlopsgen validate` accepts it.

    Open crashes (with a "# signature:" line) are xfail; once fixed, delete the signature line and
    the spec stays here as a regression test."""
    with _workdir() as tmp:
        code, _out, err, exc = _render(spec_file, tmp / "out")
    validated, _validate_err = _validate(spec_file)
    assert code in (EXIT_OK, EXIT_USER_ERROR) and "Traceback" not in err, err
    assert (validated == EXIT_OK) == (code == EXIT_OK), f"validate exit {validated}, render exit {code}: {err}"
    assert not isinstance(exc, VerificationError), err
    if code == EXIT_USER_ERROR:
        assert re.search(re.escape(spec_file.name) + r":\d+:\d+: ", err), err
