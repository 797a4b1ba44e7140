"""BentoML: the image built from a bento, under an Argo Rollout with its own stable and preview
Services and an HPA that scales the Rollout. No controller of its own: mlopsgen renders every
object; Argo Rollouts (argoproj/argo-rollouts rollout/canary.go, rollout/bluegreen.go) switches
the Services' selectors with the `rollouts-pod-template-hash` label of each ReplicaSet.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.artifacts import PlannedArtifact
from generator.frozen import frozen
from generator.model import Environment, Spec
from generator.runtimes.autoscaling import hpa_metric
from generator.runtimes.base import (
    RELEASE_FILE,
    Capabilities,
    ControllerObject,
    Kind,
    Ops,
    PatchTarget,
    ReleasePatch,
    RuleProblem,
    Scrape,
    yaml_artifact,
)
from generator.runtimes.exporters import SOFTWARE_SIGNALS, Exporter
from generator.runtimes.placement import placement
from generator.runtimes.release_state import ReleaseState
from generator.runtimes.rollouts import OverlayPlace, RolloutPlan
from generator.runtimes.versions import RELEASE_LABEL, ROLLOUT_HASH_LABEL, release_label

IMAGE = "/spec/template/spec/containers/0/image"
NAME_LABEL = "app.kubernetes.io/name"
RELEASE = "/spec/template/metadata/labels/" + RELEASE_LABEL.replace("~", "~0").replace("/", "~1")
# A stock bento's own metrics (docs.bentoml.com build-with-bentoml/observability/metrics, "Default
# metrics": bentoml_service_request_total{endpoint,http_response_code,...}, the
# bentoml_service_request_duration_seconds histogram, the bentoml_service_request_in_progress
# gauge, at /metrics on the Service's port). They count every endpoint, probes and scrapes
# included, so the queries leave BentoML's probe and metrics routes out; no input or output metrics.
EXPORTER = Exporter("bentoml", "bentoml_service_request_total", "http_response_code",
                    "bentoml_service_request_duration_seconds", "bentoml_service_request_in_progress",
                    ',endpoint!~"/healthz|/livez|/readyz|/metrics"', SOFTWARE_SIGNALS)
# an Argo Rollout with its own Services: canary and blue-green; mirroring needs a mesh.
CAPABILITIES = Capabilities(strategies=frozenset({"rolling", "canary", "blueGreen"}), controller_driven=True)


def services(spec: Spec) -> tuple[str, str]:
    """The stable Service the Rollout sends production traffic to, and the one for the new version."""
    return spec.name, f"{spec.name}-preview"


@frozen
class BentoML:
    key: str = "bentoml"
    spec_name: str = "bentoml"
    mode: str | None = None
    label: str = "bentoml"
    selection: str = "serving.runtime: bentoml"
    capabilities: Capabilities = CAPABILITIES

    def release_patches(self, spec: Spec) -> list[ReleasePatch]:
        return [ReleasePatch(RELEASE_FILE, PatchTarget("argoproj.io", "v1alpha1", "Rollout", spec.name))]

    def release_ops(self, state: ReleaseState) -> dict[str, Ops]:
        return {RELEASE_FILE: [{"op": "replace", "path": IMAGE, "value": state.serving},
                               {"op": "add", "path": RELEASE, "value": release_label(state.serving)}]}

    def scrape(self, spec: Spec) -> Scrape:
        # a bento serves /metrics on its HTTP port (docs.bentoml.com build-with-bentoml/observability/metrics)
        return Scrape(NAME_LABEL, spec.serving.port, "/metrics", (NAME_LABEL, RELEASE_LABEL, ROLLOUT_HASH_LABEL))

    @property
    def exporters(self) -> tuple[Exporter, ...]:
        return (EXPORTER,)

    def base(self, spec: Spec, root: str, image: str) -> list[PlannedArtifact]:
        return [yaml_artifact(f"{root}/base/service.yaml", "gitops/bentoml/service.yaml.j2", "serving",
                              services=services(spec)),
                yaml_artifact(f"{root}/base/hpa.yaml", "gitops/rollouts/hpa.yaml.j2", "serving.autoscaling",
                              metric=hpa_metric(spec.serving.autoscaling),
                              min_replicas=spec.serving.autoscaling.min_replicas)]

    def environment_patch(self, spec: Spec, env: Environment) -> tuple[PatchTarget, Ops]:
        hpa = PatchTarget("autoscaling", "v2", "HorizontalPodAutoscaler", spec.name)
        return hpa, [{"op": "replace", "path": "/spec/minReplicas", "value": max(env.replicas, 1)}]

    def overlay(self, spec: Spec, env: Environment, place: OverlayPlace) -> list[PlannedArtifact]:
        stable, preview = services(spec)
        rollout = RolloutPlan(place.analysis_template, stable, preview)
        return [yaml_artifact(f"{place.directory}/rollout.yaml", "gitops/rollouts/bentoml-rollout.yaml.j2",
                              place.where, env=env, image=place.image, placement=placement(spec, NAME_LABEL),
                              rollout=rollout)]

    def kinds(self, spec: Spec) -> list[Kind]:
        return [Kind("argoproj.io", "Rollout"), Kind("", "Service"), Kind("autoscaling", "HorizontalPodAutoscaler")]

    def controller_objects(self, spec: Spec) -> list[ControllerObject]:
        source = "argoproj/argo-rollouts rollout/sync.go getNewReplicaSet"
        return [ControllerObject("apps/ReplicaSet", f"{spec.name}-<rollouts-pod-template-hash>", source,
                                 labels=((NAME_LABEL, spec.name), ("rollouts-pod-template-hash", "<hash>")))]

    def problems(self, spec: Spec) -> Iterator[RuleProblem]:
        return iter(())
