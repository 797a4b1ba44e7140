"""Verify rendered artifacts before anything is written: parse each one, check it against the
official schemas vendored under schemas/vendor/, and check references between files."""

from __future__ import annotations

import json
import posixpath
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from typing import Any

import jsonschema
import yaml

from generator.artifacts import RenderedFile, Syntax
from generator.errors import VerificationError
from generator.resources import schemas_dir

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

GITLAB_RESERVED = {"default", "include", "stages", "variables", "workflow", "image", "services", "cache",
                   "before_script", "after_script", "spec"}
DOCKERFILE_INSTRUCTIONS = {"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK",
                           "LABEL", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}


def verify(files: list[RenderedFile]) -> None:
    """Raise VerificationError naming every failing artifact and the spec section behind it."""
    paths = {f.path for f in files}
    failures = [f"{f.path} (from spec field '{f.origin}'): {message}"
                for f in files for message in _check(f, paths)]
    if failures:
        raise VerificationError("rendered artifacts failed verification; nothing was written:\n  "
                                + "\n  ".join(failures),
                                "this is a bug in mlopsgen or its blueprints (a spec that validates must render): "
                                "please report it with the spec")


def _check(file: RenderedFile, paths: set[str]) -> Iterator[str]:
    if file.syntax in (Syntax.GITLAB_CI, Syntax.YAML):
        try:
            docs = list(_yaml_documents(file.content))
        except ValueError as exc:
            yield str(exc)
            return
        if file.syntax is Syntax.GITLAB_CI:
            yield from _check_gitlab(docs)
        else:
            for doc in docs:
                yield from _check_kubernetes(file.path, doc, paths)
    elif file.syntax is Syntax.JENKINSFILE:
        yield from _check_groovy_structure(file.content)
    elif file.syntax is Syntax.DOCKERFILE:
        yield from _check_dockerfile(file.content)
    elif file.syntax is Syntax.SHELL:
        yield from _check_shell(file.content)
    elif file.syntax is Syntax.PYTHON:
        yield from _check_python(file.path, file.content)


def _yaml_documents(text: str) -> Iterator[Any]:
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


# ---------------------------------------------------------------------------------------- GitLab

@cache
def _schema_validator(relative: str, close_root: bool = False) -> Any:
    with open(schemas_dir() / "vendor" / relative, encoding="utf-8") as handle:
        schema = json.load(handle)
    if close_root and "properties" in schema and "additionalProperties" not in schema:
        schema["additionalProperties"] = False  # the API server rejects unknown root fields too
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema)


def _best_error(validator: Any, instance: Any) -> str | None:
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message[:300]}"


def _check_gitlab(docs: list[Any]) -> Iterator[str]:
    if len(docs) != 1 or not isinstance(docs[0], dict):
        yield "a .gitlab-ci.yml must be one YAML mapping"
        return
    pipeline = docs[0]
    error = _best_error(_schema_validator("gitlab-ci.json"), pipeline)
    if error:
        yield f"GitLab CI schema: {error}"
    stages = set(pipeline.get("stages", [])) | {".pre", ".post"}
    jobs = {name: job for name, job in pipeline.items() if name not in GITLAB_RESERVED and isinstance(job, dict)}
    for name, job in jobs.items():
        if name.startswith("."):
            continue
        if job.get("stage", "test") not in stages:
            yield f"job '{name}' uses stage '{job.get('stage')}', which is not in stages"
        for parent in _as_list(job.get("extends")):
            if parent not in jobs:
                yield f"job '{name}' extends '{parent}', which does not exist"
        for need in _as_list(job.get("needs")):
            needed = need.get("job") if isinstance(need, dict) else need
            if needed not in jobs or str(needed).startswith("."):
                yield f"job '{name}' needs '{needed}', which does not exist"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------------------------ Kubernetes

def _check_kubernetes(path: str, doc: Any, paths: set[str]) -> Iterator[str]:
    if isinstance(doc, list):  # a JSON 6902 patch
        for i, op in enumerate(doc):
            if not (isinstance(op, dict) and op.get("op") in {"add", "remove", "replace", "move", "copy", "test"}
                    and isinstance(op.get("path"), str) and op["path"].startswith("/")):
                yield f"patch operation {i} is not a JSON patch operation"
        return
    if isinstance(doc, dict) and "kind" not in doc and not ("apiVersion" in doc and "metadata" in doc):
        return  # plain data (release history), not a Kubernetes object: as kubectl and check-artifacts see it
    if not isinstance(doc, dict) or not isinstance(doc.get("kind"), str):
        yield "a Kubernetes manifest must be a mapping with apiVersion and kind"
        return
    api_version, kind = str(doc.get("apiVersion", "")), doc["kind"]
    if api_version.startswith("kustomize.config.k8s.io/"):
        yield from _check_kustomization(path, doc, paths)
        return
    group, _, version = api_version.rpartition("/")
    relative = f"{group}/{kind.lower()}_{version}.json"
    if group and (schemas_dir() / "vendor" / relative).is_file():  # a custom resource
        error = _best_error(_schema_validator(relative, close_root=True), doc)
        if error:
            yield f"{kind} schema ({relative}): {error}"
        error = _best_error(_schema_validator("kubernetes/objectmeta.json"), doc.get("metadata", {}))
        if error:
            yield f"{kind} metadata: {error}"
        return
    core = _core_schema(group, version, kind)
    if core is None:
        yield f"no schema for {api_version} {kind}: mlopsgen renders only kinds it can verify"
        return
    # the root is closed and metadata is part of the schema (ObjectMeta under $defs)
    error = _best_error(_schema_validator(core), doc)
    if error:
        yield f"{kind} schema ({core}): {error}"


# A built-in API group: the core group "", a group without a dot (apps, autoscaling, batch, policy)
# or one under k8s.io (networking.k8s.io, rbac.authorization.k8s.io). CRD groups always have a dot
# and may not use k8s.io without Kubernetes' approval.
_BUILTIN_GROUP = re.compile(r"[a-z0-9-]*|[a-z0-9.-]+\.k8s\.io")
_API_VERSION = re.compile(r"v[0-9]+(?:(?:alpha|beta)[0-9]+)?")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")


def _core_schema(group: str, version: str, kind: str) -> str | None:
    """schemas/vendor/ path of a core kind's schema, extracted from kubernetes-validate's strict set by
    .ci/extract-core-schemas: kubernetes/<kind lowercased>_<apiVersion with "/" as "-">.json, e.g.
    kubernetes/service_v1.json, kubernetes/deployment_apps-v1.json. None when there is none."""
    if not (_BUILTIN_GROUP.fullmatch(group) and _API_VERSION.fullmatch(version) and _KIND.fullmatch(kind)):
        return None
    relative = f"kubernetes/{kind.lower()}_{group + '-' if group else ''}{version}.json"
    return relative if (schemas_dir() / "vendor" / relative).is_file() else None


def _check_kustomization(path: str, doc: dict[str, Any], paths: set[str]) -> Iterator[str]:
    here = posixpath.dirname(path)
    references = list(doc.get("resources", [])) + [p["path"] for p in doc.get("patches", []) if "path" in p]
    for ref in references:
        target = posixpath.normpath(posixpath.join(here, ref))
        if target not in paths and f"{target}/kustomization.yaml" not in paths:
            yield f"kustomization refers to '{ref}', which is not rendered"


# ------------------------------------------------------------------------ Jenkins, Docker, sh, Python

def _check_groovy_structure(text: str) -> Iterator[str]:
    """Brackets balance outside strings and comments: the cheap half of a Groovy parse.

    The conformance tests run the real Groovy 2.4 parser and npm-groovy-lint on every example.
    """
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[tuple[str, int]] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if text.startswith("'''", i) or text.startswith('"""', i):
            end = text.find(text[i:i + 3], i + 3)
            if end < 0:
                yield f"line {line}: unterminated triple-quoted string"
                return
            line += text.count("\n", i, end)
            i = end + 3
            continue
        if ch in "'\"":
            j = i + 1
            while j < n and text[j] != ch:
                if text[j] == "\n":
                    yield f"line {line}: newline inside a string"
                    return
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if ch in "([{":
            stack.append((ch, line))
        elif ch in ")]}":
            if not stack or stack[-1][0] != pairs[ch]:
                yield f"line {line}: unbalanced '{ch}'"
                return
            stack.pop()
        i += 1
    if stack:
        yield f"line {stack[-1][1]}: '{stack[-1][0]}' is never closed"


def _check_dockerfile(text: str) -> Iterator[str]:
    continued = False
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not continued:
            word = line.split(None, 1)[0].upper()
            if word not in DOCKERFILE_INSTRUCTIONS:
                yield f"line {number}: '{word}' is not a Dockerfile instruction"
            if word == "FROM" and (":latest" in line or ":" not in line.split()[1]):
                yield f"line {number}: base image is not pinned"
        continued = line.endswith("\\")


def _check_shell(text: str) -> Iterator[str]:
    bash = shutil.which("bash")
    if bash is None:  # pragma: no cover - every supported platform has bash
        return
    result = subprocess.run([bash, "-n"], input=text.encode(), capture_output=True, check=False)
    if result.returncode:
        yield "bash -n: " + result.stderr.decode(errors="replace").strip()


def _check_python(path: str, text: str) -> Iterator[str]:
    """Python compiles it (the syntax of the running interpreter; the conformance tests load the DAG
    files in a real Airflow)."""
    try:
        compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as exc:  # IndentationError and TabError are SyntaxErrors too
        yield f"line {exc.lineno}: {exc.msg}" if exc.lineno else f"not Python source: {exc.msg}"
    except ValueError as exc:  # a NUL byte, before Python 3.11.4
        yield f"not Python source: {exc}"
