"""Seldon Core v1 SeldonDeployment: a main and a candidate predictor with traffic weights and a
shadow flag, each with an hpaSpec.

Upstream behaviour this module relies on (SeldonIO/seldon-core v1.17.1):
- Each componentSpec becomes a Deployment `<sdep>-<predictor>-<componentSpec index>-<container
  names joined by '-'>` (`seldon-<md5>` past 63 characters): operator/apis/machinelearning.seldon.io/
  v1/seldondeployment_types.go GetDeploymentName. Its pods carry `seldon-deployment-id: <sdep>`,
  `app: <deployment>` and the componentSpec's own labels (ours: `app.kubernetes.io/name: <model>`);
  the one holding the executor also `seldon-app: <sdep>-<predictor>`
  (operator/controllers/seldondeployment_controller.go createDeploymentWithoutEngine,
  seldondeployment_engine.go addEngineToDeployment).
- Each predictor gets the entry Service `<sdep>-<predictor>`, ports http 8000 and grpc 5001 on the
  executor, selecting `seldon-app` (seldondeployment_controller.go createPredictorService); there is
  no Service for the SeldonDeployment as a whole.
- The executor serves Prometheus metrics at /prometheus on its http port 8000 (ports http and
  metrics are both 8000: seldondeployment_engine.go createExecutorContainer; executor/api/rest/
  server.go): only seldon_api_executor_* series, not the model's. So the model is scraped on its own
  container port through mlopsgen's metrics Service, selecting `seldon-deployment-id`. The model
  container's port must be named `http`, or the defaulting webhook overwrites the graph's httpPort
  with 9000 (apis/machinelearning.seldon.io/v1/defaults.go setContainerPredictiveUnitDefaults).
- Labels reach the pods from the predictor's `labels` and then, overriding them, the
  componentSpec's `metadata.labels` (seldondeployment_controller.go createDeploymentWithoutEngine):
  the release writes each predictor's release label there (versions.py), which tells the main and
  the candidate predictor's pods apart (both carry the same seldon-deployment-id and
  app.kubernetes.io/name).
- With Istio, non-shadow predictors become weighted routes (`weight = traffic`) of one
  VirtualService `<sdep>` and a shadow predictor a `mirror`; with Ambassador, Mappings with
  `weight` and `shadow: true` (seldondeployment_controller.go createIstioResources,
  operator/controllers/ambassador/).
- Platform: Seldon Core 2 serves Model, Server and Pipeline resources and no SeldonDeployment, so
  only 1.x can run this (platform.seldon). Argo CD has no health check for SeldonDeployments
  (argo-cd resource_customizations/ holds none): `argocd app wait --health` waits for them only
  with the `resource.customizations.health.machinelearning.seldon.io_SeldonDeployment` the README's
  cluster prerequisites give, built on status.state Available/Creating/Failed
  (operator/apis/machinelearning.seldon.io/v1/seldon_deployment_status.go).
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.artifacts import PlannedArtifact
from generator.frozen import frozen
from generator.model import Environment, Spec, version_text
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
from generator.runtimes.exporters import Exporter
from generator.runtimes.payload import payload_logger
from generator.runtimes.placement import placement
from generator.runtimes.release_state import ReleaseState
from generator.runtimes.rollouts import OverlayPlace
from generator.runtimes.versions import RELEASE_LABEL, release_label

MAIN = "/spec/predictors/0"
CANDIDATE = "/spec/predictors/1"
IMAGE = "/componentSpecs/0/spec/containers/0/image"
POD_METADATA = "/componentSpecs/0/metadata"  # its labels are copied onto the pods (see above)
DEPLOYMENT_LABEL = "seldon-deployment-id"
CONTROLLER = "SeldonIO/seldon-core operator/controllers/seldondeployment_controller.go"
# SeldonDeployment predictors carry traffic weights and a shadow flag; no preview endpoint.
CAPABILITIES = Capabilities(strategies=frozenset({"rolling", "canary", "shadow"}), shadow=True)


@frozen
class Predictor:
    """A predictor as first rendered: the main one serves everything; the candidate waits, scaled to
    zero, for `promote` to give it an image, a share of the traffic or the shadow flag."""

    name: str
    replicas: int
    traffic: int
    main: bool = False  # the one with the hpaSpec


@frozen
class Seldon:
    key: str = "seldon"
    spec_name: str = "seldon"
    mode: str | None = None
    label: str = "seldon"
    selection: str = "serving.runtime: seldon"
    capabilities: Capabilities = CAPABILITIES

    def _target(self, spec: Spec) -> PatchTarget:
        return PatchTarget("machinelearning.seldon.io", "v1", "SeldonDeployment", spec.name)

    def release_patches(self, spec: Spec) -> list[ReleasePatch]:
        return [ReleasePatch(RELEASE_FILE, self._target(spec))]

    def release_ops(self, state: ReleaseState) -> dict[str, Ops]:
        active = bool(state.candidate)
        return {RELEASE_FILE: [
            {"op": "replace", "path": MAIN + IMAGE, "value": state.stable},
            {"op": "replace", "path": MAIN + "/traffic", "value": 100 - (0 if state.shadow else state.traffic)},
            {"op": "replace", "path": CANDIDATE + IMAGE, "value": state.candidate or state.stable},
            {"op": "replace", "path": CANDIDATE + "/traffic", "value": 0 if state.shadow else state.traffic},
            {"op": "replace", "path": CANDIDATE + "/replicas", "value": 1 if active else 0},
            {"op": "replace", "path": CANDIDATE + "/shadow", "value": state.shadow},
            {"op": "add", "path": MAIN + POD_METADATA,
             "value": {"labels": {RELEASE_LABEL: release_label(state.stable)}}},
            {"op": "add", "path": CANDIDATE + POD_METADATA,
             "value": {"labels": {RELEASE_LABEL: release_label(state.candidate or state.stable)}}},
        ]}

    def scrape(self, spec: Spec) -> Scrape:
        # the model container's own port (not the executor's /prometheus on 8000, which has only
        # seldon_api_executor_* series); both predictors' pods carry seldon-deployment-id
        return Scrape(DEPLOYMENT_LABEL, spec.serving.port, "/metrics", (DEPLOYMENT_LABEL, RELEASE_LABEL))

    @property
    def exporters(self) -> tuple[Exporter, ...]:
        return ()

    def base(self, spec: Spec, root: str, image: str) -> list[PlannedArtifact]:
        scaling = spec.serving.autoscaling
        predictors = (Predictor("main", scaling.min_replicas, 100, main=True), Predictor("candidate", 0, 0))
        return [yaml_artifact(f"{root}/base/seldondeployment.yaml", "gitops/seldon/seldondeployment.yaml.j2",
                              "serving", image=image, placement=placement(spec, DEPLOYMENT_LABEL),
                              predictors=predictors,
                              hpa_min_replicas=max(scaling.min_replicas, 1), metric=hpa_metric(scaling))]

    def environment_patch(self, spec: Spec, env: Environment) -> tuple[PatchTarget, Ops]:
        hpa_min = "/spec/predictors/0/componentSpecs/0/hpaSpec/minReplicas"
        ops: Ops = [{"op": "replace", "path": hpa_min, "value": max(env.replicas, 1)}]
        logger = payload_logger(spec, env)
        if logger:  # both predictors: a shadow's answers are logged too, for comparison offline
            ops += [{"op": "add", "path": f"/spec/predictors/{i}/graph/logger", "value": logger} for i in (0, 1)]
        return self._target(spec), ops

    def overlay(self, spec: Spec, env: Environment, place: OverlayPlace) -> list[PlannedArtifact]:
        return []

    def kinds(self, spec: Spec) -> list[Kind]:
        return [Kind("machinelearning.seldon.io", "SeldonDeployment")]

    def controller_objects(self, spec: Spec) -> list[ControllerObject]:
        types = "SeldonIO/seldon-core operator/apis/machinelearning.seldon.io/v1/seldondeployment_types.go"
        return [ControllerObject("apps/Deployment", f"{spec.name}-{predictor}-0-model", types,
                                 labels=(("seldon-deployment-id", spec.name), ("app.kubernetes.io/name", spec.name),
                                         ("seldon-app", f"{spec.name}-{predictor}")))
                for predictor in ("main", "candidate")] + [
                ControllerObject("Service", f"{spec.name}-{predictor}", CONTROLLER,
                                 ports=(("http", 8000), ("grpc", 5001)),
                                 labels=(("seldon-app", f"{spec.name}-{predictor}"),))
                for predictor in ("main", "candidate")]

    def problems(self, spec: Spec) -> Iterator[RuleProblem]:
        version = spec.platform.version("seldon")
        if version[0] != 1:
            yield RuleProblem(("platform", "seldon"), f"Seldon Core {version_text(version)} has no "
                              "SeldonDeployment (Seldon Core 2 serves Model, Server and Pipeline resources)",
                              "mlopsgen renders for Seldon Core 1.x: set platform.seldon to 1.17, or choose another "
                              "serving.runtime", "platform-version")
