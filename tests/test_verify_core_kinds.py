"""Core Kubernetes kinds: generator.render.verify.kubernetes (schemas/vendor/kubernetes/<kind>_<apiVersion>.json,
extracted by .ci/extract-core-schemas) and the conformance validator (kubernetes-validate --strict,
Kubernetes 1.30.0) give the same verdict on the same object."""

from __future__ import annotations

import copy
import hashlib
import importlib.machinery
import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conformance.validators import VENDOR_SCHEMAS, CheckFailed, K8sValidator

import generator.render.verify.json_schemas as json_schemas
from generator.artifacts import RenderedFile, Syntax
from generator.errors import VerificationError
from generator.render.verify import verify

REPO = Path(__file__).resolve().parent.parent
EXTRACT_SCRIPT = REPO / ".ci" / "extract-core-schemas"
CORE_DIR = VENDOR_SCHEMAS / "kubernetes"

LABELS = {"app.kubernetes.io/name": "fraud-detector"}
METADATA = {"name": "fraud-detector", "namespace": "risk", "labels": LABELS,
            "annotations": {"mlopsgen.io/spec": "mlops.yaml"}}

VALID: dict[str, dict[str, Any]] = {
    "Deployment": {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": METADATA,
        "spec": {
            "replicas": 2, "revisionHistoryLimit": 5, "selector": {"matchLabels": LABELS},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": LABELS, "annotations": {"prometheus.io/scrape": "true"}},
                "spec": {
                    "serviceAccountName": "fraud-detector",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "fsGroup": 10001},
                    "containers": [{
                        "name": "model", "image": "registry.gitlab.com/acme/risk/fraud-detector:1.4.2",
                        "imagePullPolicy": "IfNotPresent", "args": ["--port", "8080"],
                        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                        "env": [{"name": "MODEL_NAME", "value": "fraud-detector"},
                                {"name": "LOG_LEVEL", "valueFrom": {"configMapKeyRef": {
                                    "name": "fraud-detector", "key": "log_level"}}}],
                        "envFrom": [{"configMapRef": {"name": "fraud-detector"}}],
                        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"},
                                      "limits": {"cpu": 1, "memory": "1Gi"}},
                        "readinessProbe": {"httpGet": {"path": "/v2/health/ready", "port": "http"},
                                           "periodSeconds": 5},
                        "livenessProbe": {"httpGet": {"path": "/v2/health/live", "port": 8080},
                                          "initialDelaySeconds": 10},
                        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "config", "mountPath": "/etc/model", "readOnly": True}],
                    }],
                    "volumes": [{"name": "config", "configMap": {"name": "fraud-detector"}}],
                },
            },
        },
    },
    "Service": {
        "apiVersion": "v1", "kind": "Service", "metadata": METADATA,
        "spec": {"type": "ClusterIP", "selector": LABELS,
                 "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                           {"name": "metrics", "port": 9090, "targetPort": 9090}]},
    },
    "ConfigMap": {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": METADATA,
        "data": {"log_level": "info", "threshold": "0.8"},
    },
    "ServiceAccount": {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": METADATA,
        "automountServiceAccountToken": False, "imagePullSecrets": [{"name": "registry"}],
    },
    "HorizontalPodAutoscaler": {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": METADATA,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "fraud-detector"},
            "minReplicas": 2, "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 70}}}],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300,
                                       "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}},
        },
    },
    "PodDisruptionBudget": {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": METADATA,
        "spec": {"minAvailable": 1, "selector": {"matchLabels": LABELS}},
    },
}

Mutation = Callable[[dict[str, Any]], None]


def _container(doc: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = doc["spec"]["template"]["spec"]["containers"][0]
    return container


def _set(*path: str | int, value: Any) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node: Any = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


def _rename(old: str, new: str, *path: str | int) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        node: Any = doc
        for key in path:
            node = node[key]
        node[new] = node.pop(old)
    return mutate


# (kind, mutation, path the validators must name): every one is rejected by both.
INVALID: dict[str, tuple[str, Mutation, str]] = {
    "deployment-spec.replica": ("Deployment", _rename("replicas", "replica", "spec"), "spec"),
    "deployment-resources.limit": ("Deployment", lambda d: _container(d)["resources"].update(
        limit=_container(d)["resources"].pop("limits")), "spec.template.spec.containers.0.resources"),
    "deployment-containerPort-string": ("Deployment", lambda d: _container(d)["ports"][0].update(
        containerPort="8080"), "spec.template.spec.containers.0.ports.0.containerPort"),
    "deployment-no-containers": ("Deployment", lambda d: d["spec"]["template"]["spec"].pop("containers"),
                                 "spec.template.spec"),
    "deployment-metadata.label": ("Deployment", _rename("labels", "label", "metadata"), "metadata"),
    "deployment-root-field": ("Deployment", _set("extra", value={}), "(root)"),
    "service-port-string": ("Service", _set("spec", "ports", 0, "port", value="80"), "spec.ports.0.port"),
    "service-unknown-field": ("Service", _set("spec", "selectors", value=LABELS), "spec"),
    "configmap-int-value": ("ConfigMap", _set("data", "replicas", value=3), "data.replicas"),
    "configmap-unknown-field": ("ConfigMap", _rename("data", "datas"), "(root)"),
    "serviceaccount-unknown-field": ("ServiceAccount", _set("secret", value=[{"name": "x"}]), "(root)"),
    "serviceaccount-bool-string": ("ServiceAccount", _set("automountServiceAccountToken", value="no"),
                                   "automountServiceAccountToken"),
    "hpa-v1-targetCPUUtilizationPercentage": ("HorizontalPodAutoscaler",
                                              _set("spec", "targetCPUUtilizationPercentage", value=70), "spec"),
    "hpa-maxReplicas-string": ("HorizontalPodAutoscaler", _set("spec", "maxReplicas", value="10"),
                               "spec.maxReplicas"),
    "pdb-unknown-field": ("PodDisruptionBudget", _rename("minAvailable", "minAvailble", "spec"), "spec"),
    "pdb-minAvailable-bool": ("PodDisruptionBudget", _set("spec", "minAvailable", value=True),
                              "spec.minAvailable"),
    "wrong-apiVersion-for-kind": ("Deployment", _set("apiVersion", value="apps/v1beta1"), ""),
    "kind-in-wrong-group": ("Service", _set("apiVersion", value="apps/v1"), ""),
}


def mutated(kind: str, mutation: Mutation | None = None) -> dict[str, Any]:
    doc = copy.deepcopy(VALID[kind])
    if mutation:
        mutation(doc)
    return doc


class _NoAliasDumper(yaml.SafeDumper):
    """Rendered manifests never use YAML anchors; neither do these (LABELS is shared)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def verify_error(doc: dict[str, Any]) -> str | None:
    """generator.render.verify's verdict: None or its error text."""
    try:
        text = yaml.dump(doc, Dumper=_NoAliasDumper, sort_keys=False)
        verify([RenderedFile("apps/fraud-detector/base/object.yaml", text, Syntax.YAML, "test")])
    except VerificationError as caught:
        return caught.message
    return None


@pytest.fixture(scope="module")
def k8s() -> K8sValidator:
    return K8sValidator()


def real_error(k8s: K8sValidator, doc: dict[str, Any]) -> str | None:
    """The conformance tests' verdict (kubernetes-validate --strict 1.30.0): None or tool: message."""
    try:
        tool = k8s.validate(doc)
    except CheckFailed as caught:
        return f"{caught.args[0]}: {caught.args[1]}"
    assert tool == "kubernetes-validate"  # a core kind, not a CRD
    return None


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_object_passes_verify_and_the_real_validator(kind: str, k8s: K8sValidator) -> None:
    doc = mutated(kind)
    assert verify_error(doc) is None
    assert real_error(k8s, doc) is None


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_object_is_rejected_by_verify_and_the_real_validator(case: str, k8s: K8sValidator) -> None:
    kind, mutation, where = INVALID[case]
    doc = mutated(kind, mutation)
    ours, theirs = verify_error(doc), real_error(k8s, doc)
    assert ours is not None, f"verify accepted what kubernetes-validate rejects: {theirs}"
    assert theirs is not None, f"kubernetes-validate accepted what verify rejects: {ours}"
    assert "from spec field 'test'" in ours
    if where:  # both name the same place
        assert f": {where}: " in ours, ours
        assert f": {where}: " in theirs, theirs
        schema = f"kubernetes/{kind.lower()}_{doc['apiVersion'].replace('/', '-')}.json"
        assert f"{kind} schema ({schema}): {where}: " in ours


@pytest.mark.parametrize(("kind", "mutation", "accepted"), [
    ("Deployment", _set("spec", "replicas", value=None), True),  # the strict set allows null almost anywhere
    ("Deployment", _set("metadata", "labels", "tier", value=1), False),
    ("Deployment", lambda d: _container(d)["resources"]["limits"].update(cpu=0.5), True),  # Quantity: number
    ("Deployment", lambda d: _container(d)["ports"][0].update(containerPort=70000), True),  # no range checks
    ("Deployment", _set("kind", value="deployment"), False),
    ("Service", _set("spec", "ports", 0, "targetPort", value=8080.5), False),
    ("HorizontalPodAutoscaler", _set("spec", "metrics", 0, "type", value="Cpu"), True),  # no enums for types
    ("PodDisruptionBudget", _set("spec", "minAvailable", value="50%"), True),
    ("ConfigMap", _set("binaryData", value={"model.bin": "AAEC"}), True),
])
def test_edge_cases_get_the_same_verdict(kind: str, mutation: Mutation, accepted: bool, k8s: K8sValidator) -> None:
    """Including what neither catches (the API server would): both judge by the same schema."""
    doc = mutated(kind, mutation)
    ours, theirs = verify_error(doc), real_error(k8s, doc)
    assert (ours is None, theirs is None) == (accepted, accepted), (ours, theirs)


def test_core_kinds_without_a_vendored_schema_are_still_refused() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"},
           "spec": {"template": {"spec": {"containers": [{"name": "x", "image": "busybox:1.36"}],
                                          "restartPolicy": "Never"}}}}
    message = verify_error(job)
    assert message and "no schema for batch/v1 Job: mlopsgen renders only kinds it can verify" in message
    for api_version in ("apps.example.com/v1", "apps/../v1", "v1/apps"):
        message = verify_error(mutated("Deployment", _set("apiVersion", value=api_version)))
        assert message and f"no schema for {api_version} Deployment" in message


def test_custom_resources_still_use_their_crd_schema() -> None:
    rollout = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "x", "label": {}},
               "spec": {}}
    message = verify_error(rollout)
    assert message and "Rollout metadata: (root): Additional properties" in message


def test_verifying_a_deployment_loads_only_its_own_small_schema(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    opened: list[Path] = []
    real_open = open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(Path(file))
        return real_open(file, *args, **kwargs)

    json_schemas.schema_validator.cache_clear()
    monkeypatch.setattr(json_schemas, "open", spy, raising=False)
    try:
        assert verify_error(mutated("Deployment")) is None
    finally:
        json_schemas.schema_validator.cache_clear()
    assert [p.relative_to(VENDOR_SCHEMAS).as_posix() for p in opened] == ["kubernetes/deployment_apps-v1.json"]
    with capsys.disabled():
        print()
        for path in sorted(CORE_DIR.glob("*.json")):
            print(f"  {path.stat().st_size:>8} bytes  schemas/vendor/kubernetes/{path.name}")
    assert opened[0].stat().st_size < 512 * 1024


def _load_extract_script() -> Any:
    loader = importlib.machinery.SourceFileLoader("extract_core_schemas", str(EXTRACT_SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_vendored_core_schemas_are_what_the_script_extracts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    script = _load_extract_script()
    monkeypatch.setattr("sys.argv", [str(EXTRACT_SCRIPT), "1.30.0", str(tmp_path)])
    assert script.main() == 0
    capsys.readouterr()
    expected = {script.out_name(api_version, kind) for api_version, kind in script.KINDS}
    assert {p.name for p in tmp_path.iterdir()} == expected
    assert expected == {p.name for p in CORE_DIR.glob("*.json")} - {"objectmeta.json"}
    for name in sorted(expected):
        fresh = (tmp_path / name).read_bytes()
        assert (CORE_DIR / name).read_bytes() == fresh, f"re-run .ci/extract-core-schemas: {name} is stale"


def test_sources_md_records_the_sha256_of_every_core_schema() -> None:
    sources = (VENDOR_SCHEMAS / "SOURCES.md").read_text(encoding="utf-8")
    recorded = dict((path, digest) for digest, path in re.findall(r"^([0-9a-f]{64})  (\S+)$", sources, re.M))
    for path in sorted(CORE_DIR.glob("*.json")):
        relative = f"kubernetes/{path.name}"
        assert recorded.get(relative) == hashlib.sha256(path.read_bytes()).hexdigest(), relative
