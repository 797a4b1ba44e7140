"""Kubernetes, Argo CD and kustomize YAML: every document is a JSON 6902 patch, plain data, a
kustomization whose references are rendered, a custom resource valid against its vendored CRD schema,
or a core kind valid against its vendored strict schema. A kind with no schema is refused: mlopsgen
renders only what it can verify."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from generator.artifacts import RenderedFile
from generator.frozen import frozen
from generator.render.verify.base import VerificationContext
from generator.render.verify.json_schemas import best_error, schema_validator, vendored_schema_exists
from generator.render.verify.yaml_documents import parsed_documents

JSON_PATCH_OPERATIONS = {"add", "remove", "replace", "move", "copy", "test"}

# A built-in API group: the core group "", a group without a dot (apps, autoscaling, batch, policy)
# or one under k8s.io (networking.k8s.io, rbac.authorization.k8s.io). CRD groups always have a dot
# and may not use k8s.io without Kubernetes' approval.
_BUILTIN_GROUP = re.compile(r"[a-z0-9-]*|[a-z0-9.-]+\.k8s\.io")
_API_VERSION = re.compile(r"v[0-9]+(?:(?:alpha|beta)[0-9]+)?")
_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")


@frozen
class KubernetesVerifier:
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        docs = yield from parsed_documents(file.content)
        for doc in docs or ():
            yield from _check_document(file.path, doc, context.rendered_paths)


def _check_document(path: str, doc: Any, paths: frozenset[str]) -> Iterator[str]:
    if isinstance(doc, list):  # a JSON 6902 patch
        for i, op in enumerate(doc):
            if not (isinstance(op, dict) and op.get("op") in JSON_PATCH_OPERATIONS
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
    if group and vendored_schema_exists(relative):  # a custom resource
        error = best_error(schema_validator(relative, close_root=True), doc)
        if error:
            yield f"{kind} schema ({relative}): {error}"
        error = best_error(schema_validator("kubernetes/objectmeta.json"), doc.get("metadata", {}))
        if error:
            yield f"{kind} metadata: {error}"
        return
    core = _core_schema(group, version, kind)
    if core is None:
        yield f"no schema for {api_version} {kind}: mlopsgen renders only kinds it can verify"
        return
    # the root is closed and metadata is part of the schema (ObjectMeta under $defs)
    error = best_error(schema_validator(core), doc)
    if error:
        yield f"{kind} schema ({core}): {error}"


def _core_schema(group: str, version: str, kind: str) -> str | None:
    """schemas/vendor/ path of a core kind's schema, extracted from kubernetes-validate's strict set by
    .ci/extract-core-schemas: kubernetes/<kind lowercased>_<apiVersion with "/" as "-">.json, e.g.
    kubernetes/service_v1.json, kubernetes/deployment_apps-v1.json. None when there is none."""
    if not (_BUILTIN_GROUP.fullmatch(group) and _API_VERSION.fullmatch(version) and _KIND.fullmatch(kind)):
        return None
    relative = f"kubernetes/{kind.lower()}_{group + '-' if group else ''}{version}.json"
    return relative if vendored_schema_exists(relative) else None


def _check_kustomization(path: str, doc: dict[str, Any], paths: frozenset[str]) -> Iterator[str]:
    """Every resource and patch file a kustomization names is rendered (a file, or a directory with its
    own kustomization.yaml): kustomize build fails on a missing one."""
    here = posixpath.dirname(path)
    references = list(doc.get("resources", [])) + [p["path"] for p in doc.get("patches", []) if "path" in p]
    for ref in references:
        target = posixpath.normpath(posixpath.join(here, ref))
        if target not in paths and f"{target}/kustomization.yaml" not in paths:
            yield f"kustomization refers to '{ref}', which is not rendered"
