"""Production hardened by default, checked on `kubectl kustomize` of every rendered example: at least
two replicas in production (fewer only when written, with a warning), a PodDisruptionBudget over the
model's pods, topology spread where the platform accepts it, `seccompProfile: RuntimeDefault` on
every container mlopsgen renders."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CliResult, Project, copy_example, edit_text
from test_rollout_autoscaling import built, of_kind

from generator.spec.intake import load_valid_spec
from generator.spec.normalise import normalise

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SPECS = sorted(p.parent.name for p in EXAMPLES.glob("*/mlops.yaml"))


def overlays(example: str) -> Iterator[tuple[str, Path]]:
    for kustomization in sorted((EXAMPLES / example / "rendered").glob("**/overlays/*/kustomization.yaml")):
        yield kustomization.parent.name, kustomization.parent


def pod_specs(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The pod specs mlopsgen writes, in each runtime's object."""
    spec = doc.get("spec", {})
    if doc["kind"] == "InferenceService":
        yield spec["predictor"]
    elif doc["kind"] == "SeldonDeployment":
        for predictor in spec["predictors"]:
            for component in predictor.get("componentSpecs", []):
                yield component["spec"]
    elif doc["kind"] == "Rollout" and "template" in spec:
        yield spec["template"]["spec"]


def production_replicas(example: str) -> int:
    spec = normalise(load_valid_spec(EXAMPLES / example / "mlops.yaml").data, "mlops.yaml")
    return next(env.replicas for env in spec.deploy.environments if env.production)


@pytest.mark.parametrize("example", SPECS)
def test_production_runs_at_least_two_replicas(example: str) -> None:
    assert production_replicas(example) >= 2


def test_a_model_that_scales_to_zero_keeps_two_replicas_in_production() -> None:
    """image-quality: a GPU model with minReplicas 0 against an 800 ms p95 SLO."""
    docs = built(EXAMPLES / "image-quality/rendered/apps/image-quality/overlays/production")
    [isvc] = of_kind(docs, "InferenceService")
    assert isvc["spec"]["predictor"]["minReplicas"] == 2
    staging = built(EXAMPLES / "image-quality/rendered/apps/image-quality/overlays/staging")
    assert of_kind(staging, "InferenceService")[0]["spec"]["predictor"]["minReplicas"] == 0


@pytest.mark.parametrize("example", SPECS)
def test_production_has_a_disruption_budget_over_the_models_pods(example: str) -> None:
    for env, overlay in overlays(example):
        docs = built(overlay)
        budgets = of_kind(docs, "PodDisruptionBudget")
        if env != "production":
            assert budgets == []
            continue
        [budget] = budgets
        [metrics] = [s for s in of_kind(docs, "Service") if s["metadata"]["name"].endswith("-metrics")]
        # the metrics Service selects exactly the model's pods (tests/test_scaffold_scraped.py scrapes them)
        assert budget["spec"]["selector"]["matchLabels"] == metrics["spec"]["selector"]
        assert budget["spec"]["maxUnavailable"] == 1 and "minAvailable" not in budget["spec"]
        project = [d for d in docs if d["kind"] == "AppProject"]
        assert project == []  # the AppProject lives in the argocd directory
        appproject = next((EXAMPLES / example / "rendered").glob("**/argocd/appproject.yaml"))
        assert "PodDisruptionBudget" in appproject.read_text(encoding="utf-8")


@pytest.mark.parametrize("example", SPECS)
def test_every_rendered_container_runs_with_the_runtime_default_seccomp_profile(example: str) -> None:
    seen = 0
    for _, overlay in overlays(example):
        for doc in built(overlay):
            for pod in pod_specs(doc):
                for container in pod["containers"]:
                    context = container["securityContext"]
                    assert context["seccompProfile"] == {"type": "RuntimeDefault"}, (overlay, container["name"])
                    assert context["allowPrivilegeEscalation"] is False and context["runAsNonRoot"] is True
                    seen += 1
    assert seen


# Serverless KServe spreads only where Knative's topology flag is declared (demand-forecast does);
# every other pod spec takes topologySpreadConstraints as they are.
SPREADS = {"fraud-detector": False, "churn-predictor": False, "image-quality": False}


@pytest.mark.parametrize("example", SPECS)
def test_replicas_spread_over_zones_and_nodes_where_the_platform_accepts_it(example: str) -> None:
    for _, overlay in overlays(example):
        for doc in built(overlay):
            for pod in pod_specs(doc):
                constraints = pod.get("topologySpreadConstraints", [])
                if not SPREADS.get(example, True):
                    assert constraints == []
                    continue
                assert [c["topologyKey"] for c in constraints] == ["topology.kubernetes.io/zone",
                                                                   "kubernetes.io/hostname"]
                for c in constraints:  # soft: a cluster with one zone still schedules every replica
                    assert c["whenUnsatisfiable"] == "ScheduleAnyway" and c["maxSkew"] == 1
                    assert c["labelSelector"]["matchLabels"] == {of_model(doc): doc["metadata"]["name"]}


def of_model(doc: dict[str, Any]) -> str:
    return {"InferenceService": "serving.kserve.io/inferenceservice", "SeldonDeployment": "seldon-deployment-id",
            "Rollout": "app.kubernetes.io/name"}[doc["kind"]]


def test_fewer_than_two_replicas_in_production_when_written_is_a_warning(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    project = copy_example(tmp_path, "fraud-detector")
    edit_text(project.spec, "      replicas: 3\n", "      replicas: 1\n")
    result = cli("validate", project.spec)
    assert result.code == 0
    assert f"warning: {project.spec}:66:17: deploy.environments[1].replicas: production environment 'production' " \
           "runs 1 replica(s) as written here" in result.err
    [warning] = json.loads(cli("validate", project.spec, "--format", "json").out)["warnings"]
    assert warning["rule"] == "production-replicas" and warning["hint"]
    result = cli("render", project.spec, "--out", project.out, "--format", "json")
    assert result.code == 0 and json.loads(result.out)["warnings"] == [warning]


def test_a_max_replicas_of_one_is_a_warning_at_max_replicas(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    project: Project = copy_example(tmp_path, "churn-predictor")
    edit_text(project.spec, "      replicas: 2\n", "")
    edit_text(project.spec, "    maxReplicas: 4\n", "    maxReplicas: 1\n")
    [warning] = json.loads(cli("validate", project.spec, "--format", "json").out)["warnings"]
    assert warning["path"] == "serving.autoscaling.maxReplicas" and "as maxReplicas allows" in warning["message"]
