"""checkov (.ci/install-tools puts it in <repo>/.tools/checkov, a venv of its own) scans every rendered
example's environments as kubectl kustomize builds them. checkov checks core workloads only, so each
pod spec mlopsgen writes into a custom resource (InferenceService predictor, SeldonDeployment
componentSpecs, Rollout template) is also handed to it as the Deployment its controller would run.
Offline, checkov reports no severities: every failed check fails the test unless SKIPPED lists it,
with the reason. Without checkov the test is skipped on a developer machine and fails under CI."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_hardening import SPECS, overlays, pod_specs
from test_rollout_autoscaling import built

REPO = Path(__file__).resolve().parent.parent
CHECKOV = REPO / ".tools/checkov/bin/checkov"

SKIPPED = {
    "CKV_K8S_8": "no liveness probe: a model that loads for minutes would be restarted in a loop before it is "
                 "ready; readiness gates its traffic and a crashed server exits and is restarted",
    "CKV_K8S_15": "imagePullPolicy stays IfNotPresent: every release is a new immutable version tag, and "
                  "Always adds a registry round trip to every cold start",
    "CKV_K8S_22": "the root filesystem stays writable: model servers write caches and temporary files "
                  "(BentoML's home, Python's tempfile) that a read-only root would need volumes for",
    "CKV_K8S_29": "the security context is set on every container (non-root, no privilege escalation, no "
                  "capabilities, RuntimeDefault seccomp: tests/test_hardening.py); a pod-level one needs "
                  "Knative's kubernetes.podspec-securitycontext flag on KServe serverless",
    "CKV_K8S_43": "images are pinned by version tag, which promote and rollback write; Knative resolves the "
                  "tag to a digest for each revision",
    "CKV2_K8S_6": "no NetworkPolicy: requests reach the model through the platform's data path (Knative, "
                  "Istio, the ingress), whose namespaces only the platform knows",
}
POD_FIELDS = frozenset({"containers", "initContainers", "nodeSelector", "tolerations", "topologySpreadConstraints",
                        "securityContext", "serviceAccountName", "automountServiceAccountToken", "affinity",
                        "volumes", "imagePullSecrets"})


def checkov() -> Path:
    if not CHECKOV.exists():
        reason = f"checkov is not installed at {CHECKOV} (bash .ci/install-tools)"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set: the checkov scan must run)")
        pytest.skip(reason)
    return CHECKOV


def as_deployments(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The Deployments a runtime's controller would make of the pod specs in `doc`."""
    for i, pod in enumerate(pod_specs(doc)):
        name = f"{doc['metadata']['name']}-{doc['kind'].lower()}-{i}"
        labels = {"app": name}
        yield {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": doc["metadata"].get("namespace", "default")},
               "spec": {"selector": {"matchLabels": labels},
                        "template": {"metadata": {"labels": labels},
                                     "spec": {k: v for k, v in pod.items() if k in POD_FIELDS}}}}


def scanned(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run([str(checkov()), "--directory", str(directory), "--framework", "kubernetes", "--quiet",
                             "--compact", "--output", "json", "--skip-download"],
                            capture_output=True, text=True, timeout=600, env={**os.environ, "LOG_LEVEL": "ERROR"})
    assert result.returncode in (0, 1), result.stderr  # 1: some check failed
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def test_checkov_passes_every_rendered_example_but_the_listed_checks(tmp_path: Path) -> None:
    checkov()
    workloads = 0
    for example in SPECS:
        for env, overlay in overlays(example):
            docs = built(overlay)
            derived = [d for doc in docs for d in as_deployments(doc)]
            workloads += len(derived)
            (tmp_path / f"{example}-{env}.yaml").write_text(yaml.safe_dump_all(docs + derived), encoding="utf-8")
    assert workloads >= 2 * len(SPECS)
    failed: dict[str, set[str]] = {}
    checked = 0
    for report in scanned(tmp_path):
        summary = report.get("summary", {})
        assert summary.get("parsing_errors", 0) == 0, summary
        checked += summary.get("passed", 0) + summary.get("failed", 0)
        for check in report["results"]["failed_checks"]:
            failed.setdefault(check["check_id"], set()).add(f"{check['file_path']}: {check['resource']}")
    assert checked > 0
    unexpected = {check: sorted(where) for check, where in failed.items() if check not in SKIPPED}
    assert unexpected == {}, "checkov checks failed that SKIPPED does not explain"
    assert set(failed) == set(SKIPPED), f"no longer failing, drop from SKIPPED: {set(SKIPPED) - set(failed)}"
