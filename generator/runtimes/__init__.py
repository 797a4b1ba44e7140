"""Serving runtimes are plugins: each names its base manifests, the extra files an environment
needs, what `release.yaml` patches and the kinds Argo CD must be allowed to create. Adding a
runtime means one class here (or in its own module), its blueprints, and one line in RUNTIMES.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.artifacts import PlannedArtifact, Syntax
from generator.model import Environment, Spec
from generator.runtimes.placement import placement
from generator.runtimes.release_state import CONTROLLER_DRIVEN

Ops = list[dict[str, Any]]


@dataclass(frozen=True)
class PatchTarget:
    group: str
    version: str
    kind: str
    name: str


@dataclass(frozen=True)
class Scrape:
    """What the ServiceMonitor selects, and the pod label PromQL uses to find the model."""

    service_label: str
    port: str
    path: str
    pod_label: str


@dataclass(frozen=True)
class Kind:
    group: str
    kind: str


# KServe's and Seldon's payload loggers post CloudEvents over HTTP; a Knative Eventing KafkaSink
# (one per model and namespace, named <model>-payloads, writing to payloadLogging.topic on
# payloadLogging.bootstrapServers) turns them into Kafka records. Its ingress address:
KAFKA_SINK_INGRESS = "http://kafka-sink-ingress.knative-eventing.svc.cluster.local"


def payload_logger(spec: Spec, env: Environment) -> dict[str, str] | None:
    logging = spec.serving.payload_logging
    if logging is None:
        return None
    return {"mode": logging.mode, "url": f"{KAFKA_SINK_INGRESS}/{env.namespace}/{spec.name}-payloads"}


def _artifact(path: str, blueprint: str, origin: str, **context: Any) -> PlannedArtifact:
    return PlannedArtifact(path, blueprint, Syntax.YAML, origin, context)


@dataclass(frozen=True)
class KServe:
    mode: str  # serverless | raw

    @property
    def key(self) -> str:
        return f"kserve-{self.mode}"

    def release_target(self, spec: Spec) -> PatchTarget:
        return PatchTarget("serving.kserve.io", "v1beta1", "InferenceService", spec.name)

    def scrape(self, spec: Spec) -> Scrape:
        return Scrape("serving.kserve.io/inferenceservice", "http-usermetric", "/metrics",
                      "serving.kserve.io/inferenceservice")

    def base(self, spec: Spec, root: str, image: str) -> list[PlannedArtifact]:
        tag_routing = any(env.strategy == "blueGreen" for env in spec.deploy.environments)
        return [_artifact(f"{root}/base/inferenceservice.yaml", "gitops/kserve/inferenceservice.yaml.j2", "serving",
                          image=image, tag_routing=tag_routing, placement=placement(spec))]

    def environment_patch(self, spec: Spec, env: Environment) -> tuple[PatchTarget, Ops]:
        ops: Ops = [{"op": "replace", "path": "/spec/predictor/minReplicas", "value": env.replicas}]
        logger = payload_logger(spec, env)
        if logger:
            ops.append({"op": "add", "path": "/spec/predictor/logger", "value": logger})
        return self.release_target(spec), ops

    def overlay(self, spec: Spec, env: Environment, overlay: str, where: str, image: str) -> list[PlannedArtifact]:
        if self.mode == "raw" and env.strategy != "rolling":
            return [_artifact(f"{overlay}/rollout.yaml", "gitops/rollouts/kserve-rollout.yaml.j2", where, env=env)]
        return []

    def kinds(self, spec: Spec) -> list[Kind]:
        kinds = [Kind("serving.kserve.io", "InferenceService")]
        if self.mode == "raw":
            kinds.append(Kind("argoproj.io", "Rollout"))
        return kinds


@dataclass(frozen=True)
class Seldon:
    key: str = "seldon"

    def release_target(self, spec: Spec) -> PatchTarget:
        return PatchTarget("machinelearning.seldon.io", "v1", "SeldonDeployment", spec.name)

    def scrape(self, spec: Spec) -> Scrape:
        return Scrape("seldon-deployment-id", "http", "/prometheus", "app.kubernetes.io/name")

    def base(self, spec: Spec, root: str, image: str) -> list[PlannedArtifact]:
        return [_artifact(f"{root}/base/seldondeployment.yaml", "gitops/seldon/seldondeployment.yaml.j2", "serving",
                          image=image, placement=placement(spec))]

    def environment_patch(self, spec: Spec, env: Environment) -> tuple[PatchTarget, Ops]:
        hpa_min = "/spec/predictors/0/componentSpecs/0/hpaSpec/minReplicas"
        ops: Ops = [{"op": "replace", "path": hpa_min, "value": max(env.replicas, 1)}]
        logger = payload_logger(spec, env)
        if logger:  # both predictors: a shadow's answers are logged too, for comparison offline
            ops += [{"op": "add", "path": f"/spec/predictors/{i}/graph/logger", "value": logger} for i in (0, 1)]
        return self.release_target(spec), ops

    def overlay(self, spec: Spec, env: Environment, overlay: str, where: str, image: str) -> list[PlannedArtifact]:
        return []

    def kinds(self, spec: Spec) -> list[Kind]:
        return [Kind("machinelearning.seldon.io", "SeldonDeployment")]


@dataclass(frozen=True)
class BentoML:
    key: str = "bentoml"

    def release_target(self, spec: Spec) -> PatchTarget:
        return PatchTarget("argoproj.io", "v1alpha1", "Rollout", spec.name)

    def scrape(self, spec: Spec) -> Scrape:
        return Scrape("app.kubernetes.io/name", "http", "/metrics", "app.kubernetes.io/name")

    def base(self, spec: Spec, root: str, image: str) -> list[PlannedArtifact]:
        return [_artifact(f"{root}/base/service.yaml", "gitops/bentoml/service.yaml.j2", "serving"),
                _artifact(f"{root}/base/hpa.yaml", "gitops/bentoml/hpa.yaml.j2", "serving.autoscaling")]

    def environment_patch(self, spec: Spec, env: Environment) -> tuple[PatchTarget, Ops]:
        hpa = PatchTarget("autoscaling", "v2", "HorizontalPodAutoscaler", spec.name)
        return hpa, [{"op": "replace", "path": "/spec/minReplicas", "value": max(env.replicas, 1)}]

    def overlay(self, spec: Spec, env: Environment, overlay: str, where: str, image: str) -> list[PlannedArtifact]:
        return [_artifact(f"{overlay}/rollout.yaml", "gitops/rollouts/bentoml-rollout.yaml.j2", where, env=env,
                          image=image, placement=placement(spec))]

    def kinds(self, spec: Spec) -> list[Kind]:
        return [Kind("argoproj.io", "Rollout"), Kind("", "Service"), Kind("autoscaling", "HorizontalPodAutoscaler")]


RUNTIMES = {runtime.key: runtime for runtime in (KServe("serverless"), KServe("raw"), Seldon(), BentoML())}


def runtime_for(spec: Spec) -> KServe | Seldon | BentoML:
    return RUNTIMES[spec.serving.runtime_key]


def controller_driven(spec: Spec) -> bool:
    """Argo Rollouts runs the canary or blue-green steps itself (the pipeline only sets the image)."""
    return spec.serving.runtime_key in CONTROLLER_DRIVEN
