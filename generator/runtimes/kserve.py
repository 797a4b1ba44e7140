"""KServe InferenceService, in Serverless (Knative) or RawDeployment mode.

Upstream behaviour this module relies on (kserve/kserve v0.20, knative/serving v1.23, paths in
those repositories):
- The predictor's objects are named `<isvc>-predictor`: kserve pkg/constants/constants.go
  PredictorServiceName, called by pkg/controller/v1beta1/inferenceservice/components/predictor.go
  buildPredictorResources. Serverless: a Knative Service of that name
  (reconcilers/knative/ksvc_reconciler.go createKnativeService). Raw: a Deployment, a Service and an
  HPA of that name (reconcilers/deployment/deployment_reconciler.go createRawDefaultDeployment,
  reconcilers/service/service_reconciler.go createDefaultSvc, reconcilers/hpa/hpa_reconciler.go
  createHPA, whose scaleTargetRef is that Deployment).
- Every predictor pod carries `serving.kserve.io/inferenceservice: <isvc>` and `component:
  predictor` (components/predictor.go buildObjectMeta; constants InferenceServicePodLabelKey,
  KServiceComponentLabel); raw pods also `app: isvc.<isvc>-predictor`, the Deployment's and the
  Service's selector (constants GetRawServiceLabel).
- The raw Service's first port is named after the predictor container's first port, 80 to its
  containerPort (service_reconciler.go createDefaultSvc).
- canaryTrafficPercent P becomes the Knative traffic `latestRevision: P` and, below 100, the last
  rolled-out revision `100 - P` tagged `prev` (ksvc_reconciler.go createKnativeService); with
  serving.kserve.io/enable-tag-routing the latest revision is also tagged `latest`. RawDeployment
  ignores it: an Argo Rollout with workloadRef runs canaries there (argo-rollouts
  rollout/replicaset.go reconcileNewReplicaSet scales the referenced Deployment down progressively).
- Knative revision `<ksvc>-00001` (knative pkg/reconciler/configuration/resources/revision.go
  MakeRevision) gets a private Service `<rev>-private` with ports http 80, http-autometric 9090
  (queue-proxy's metrics for the autoscaler) and http-usermetric 9091 (knative
  pkg/reconciler/serverlessservice/resources/services.go MakePrivateService,
  pkg/reconciler/revision/resources/queue.go).
- Scale to zero is Knative's; a RawDeployment HPA has minReplicas >= 1. Where a Rollout takes
  over the Deployment, KServe's HPA would target that Deployment, which Rollouts scales to 0
  once the Rollout is healthy: the environment's patch sets `serving.kserve.io/autoscalerClass:
  external`, so KServe deletes its HPA and leaves the Deployment's replicas alone
  (reconcilers/hpa/hpa_reconciler.go shouldDeleteHPA; deployment_reconciler.go ignores Replicas
  unless the class is `none`), and the overlay's own HPA scales the Rollout.
- Metrics: the ServiceMonitor must not use the private Service's http-usermetric port: that is
  queue-proxy's own metrics (revision_request_count and the like), and KServe merges the model's
  metrics into it only with metric aggregation on (kserve pkg/webhook/admission/pod/
  metrics_aggregate_injector.go). The raw predictor Service's port has no usable name. So the model
  is scraped on its own container port through mlopsgen's metrics Service (Scrape), selecting the
  pods by `serving.kserve.io/inferenceservice`. Knative keeps the user container's one port number
  (renaming it `user-port`; knative/serving pkg/reconciler/revision/resources/deploy.go
  makeServingContainer, buildContainerPorts) and the pod IP answers on it beside queue-proxy's
  8012/9090/9091 (queue.go); `spec.predictor.labels` reach the predictor pods in both modes (components/predictor.go
  buildObjectMeta; Knative copies the revision template's labels onto the pods: configuration/
  resources/revision.go MakeRevision, revision/resources/meta.go makeLabels), which carries the
  release label (versions.py).
- Platform (the spec's `platform`): KServe 0.16 renamed the deploymentMode values `Serverless` and
  `RawDeployment` to `Knative` and `Standard` and reads the old names as deprecated aliases
  (pkg/constants/constants.go DeploymentModeType, ParseDeploymentMode; commit 92899a1, first in
  v0.16.0); before 0.16 only the old names exist. `serving.kserve.io/autoscalerClass: external`
  exists from v0.12.0 (constants AutoscalerClassExternal). Knative drops pod-spec fields behind
  feature flags that are off by default (knative/serving config/core/configmaps/features.yaml;
  pkg/apis/serving/fieldmask.go PodSpecMask): nodeSelector needs `kubernetes.podspec-nodeselector`,
  tolerations `kubernetes.podspec-tolerations`, topologySpreadConstraints
  `kubernetes.podspec-topologyspreadconstraints`, a pod-level securityContext
  `kubernetes.podspec-securitycontext`; a container's securityContext, seccompProfile included,
  passes without a flag (fieldmask.go SecurityContextMask). Argo CD assesses an InferenceService's
  health (what `argocd app wait --health` waits for) from v2.8.0 (argo-cd
  resource_customizations/serving.kserve.io/InferenceService/health.lua); before, it has none.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.artifacts import PlannedArtifact
from generator.frozen import frozen
from generator.model import Environment, Spec, Version, version_text
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
from generator.runtimes.rollouts import OverlayPlace, RolloutPlan
from generator.runtimes.versions import RELEASE_LABEL, ROLLOUT_HASH_LABEL, release_label

IMAGE = "/spec/predictor/containers/0/image"
TRAFFIC = "/spec/predictor/canaryTrafficPercent"
LABELS = "/spec/predictor/labels"
POD_LABEL = "serving.kserve.io/inferenceservice"

SERVERLESS = Capabilities(
    # Knative splits traffic between revisions (canaryTrafficPercent); a 0 % revision with tag
    # routing is a blue-green preview. Knative cannot mirror traffic.
    strategies=frozenset({"rolling", "canary", "blueGreen"}), preview=True, scale_to_zero=True,
    two_step_rollback=True)
RAW = Capabilities(
    # plain Deployments: canaryTrafficPercent is ignored, an Argo Rollout (workloadRef) runs the
    # canary with replica weights; KServe owns the Service, so no preview Service for blue-green.
    strategies=frozenset({"rolling", "canary"}), controller_driven=True)


MIN_KSERVE: Version = (0, 12)  # autoscalerClass external
RENAMED_MODES: Version = (0, 16)  # Serverless -> Knative, RawDeployment -> Standard
MIN_ARGOCD: Version = (2, 8)  # Argo CD's InferenceService health check
MIN_ROLLOUTS_WORKLOAD: Version = (1, 7)  # argo-rollouts workloadRef.scaleDown (pkg/apis ... ScaleDownProgressively)
NODE_SELECTOR_FLAG = "kubernetes.podspec-nodeselector"
TOLERATIONS_FLAG = "kubernetes.podspec-tolerations"
TOPOLOGY_FLAG = "kubernetes.podspec-topologyspreadconstraints"
PLATFORM_HINT = "set platform.{field} to the version your clusters run, or upgrade them"


def predictor_name(spec: Spec) -> str:
    return f"{spec.name}-predictor"


@frozen
class KServe:
    mode: str  # serverless | raw
    spec_name: str = "kserve"

    @property
    def key(self) -> str:
        return f"kserve-{self.mode}"

    @property
    def label(self) -> str:
        return f"kserve in {self.mode} mode"

    @property
    def selection(self) -> str:
        return f"serving.runtime: {self.spec_name} with deploymentMode: {self.mode}"

    @property
    def capabilities(self) -> Capabilities:
        return SERVERLESS if self.mode == "serverless" else RAW

    def _target(self, spec: Spec) -> PatchTarget:
        return PatchTarget("serving.kserve.io", "v1beta1", "InferenceService", spec.name)

    def release_patches(self, spec: Spec) -> list[ReleasePatch]:
        return [ReleasePatch(RELEASE_FILE, self._target(spec))]

    def release_ops(self, state: ReleaseState) -> dict[str, Ops]:
        ops: Ops = [{"op": "replace", "path": IMAGE, "value": state.serving},
                    {"op": "add", "path": LABELS, "value": {RELEASE_LABEL: release_label(state.serving)}}]
        # Serverless: with canaryTrafficPercent C the `latestRevision` target (Knative: the latest
        # READY revision) gets C and status.latestRolledoutRevision the rest (kserve
        # reconcilers/knative/ksvc_reconciler.go); the rolled-out revision moves only when the latest
        # ready one has 100 % (apis/serving/v1beta1/inference_service_status.go PropagateStatus).
        # So a rolled-back canary keeps C = 0 (pinned): the revision rolled out before it keeps all
        # traffic, and neither the failed revision (still the latest ready while the old image's new
        # revision starts) nor that new revision gets any. Without C, the failed revision would get
        # 100 % until the new one is ready. The next promotion drops the pin.
        # A fully promoted version is rolled back in two steps (two_step_rollback), KServe's
        # documented rollback first (docs/samples/v1beta1/rollout/README.md, "Rollback and pin the
        # model"): C = 0 with the spec unchanged, where PropagateStatus moves latestRolledoutRevision
        # back to previousRolledoutRevision, the known-good one; then the known-good image, still at
        # C = 0, so its new revision takes no traffic from the one already serving it.
        # Raw: the Argo Rollout that references KServe's Deployment runs the canary on this change.
        if self.mode == "serverless" and (state.candidate or state.pinned):
            ops.append({"op": "add", "path": TRAFFIC, "value": state.traffic})
        return {RELEASE_FILE: ops}

    def scrape(self, spec: Spec) -> Scrape:
        versions = (RELEASE_LABEL, ROLLOUT_HASH_LABEL) if self.capabilities.controller_driven else (RELEASE_LABEL,)
        return Scrape(POD_LABEL, spec.serving.port, "/metrics", (POD_LABEL, *versions))

    @property
    def exporters(self) -> tuple[Exporter, ...]:
        return ()

    def base(self, spec: Spec, root: str, image: str) -> list[PlannedArtifact]:
        tag_routing = any(env.strategy == "blueGreen" for env in spec.deploy.environments)
        return [yaml_artifact(f"{root}/base/inferenceservice.yaml", "gitops/kserve/inferenceservice.yaml.j2",
                              "serving", image=image, tag_routing=tag_routing,
                              placement=placement(spec, POD_LABEL if self.spreads(spec) else ""),
                              deployment_mode=self.mode_annotation(spec))]

    def _rollout(self, env: Environment) -> bool:
        """Raw mode with a strategy: an Argo Rollout takes over KServe's predictor Deployment."""
        return self.mode == "raw" and env.strategy != "rolling"

    def environment_patch(self, spec: Spec, env: Environment) -> tuple[PatchTarget, Ops]:
        ops: Ops = [{"op": "replace", "path": "/spec/predictor/minReplicas", "value": env.replicas}]
        if self._rollout(env):  # the Rollout's own HPA scales it (overlay); KServe makes none
            ops.append({"op": "add", "path": "/metadata/annotations/serving.kserve.io~1autoscalerClass",
                        "value": "external"})
        logger = payload_logger(spec, env)
        if logger:
            ops.append({"op": "add", "path": "/spec/predictor/logger", "value": logger})
        return self._target(spec), ops

    def overlay(self, spec: Spec, env: Environment, place: OverlayPlace) -> list[PlannedArtifact]:
        if self._rollout(env):
            # KServe owns the predictor's Service: the Rollout switches replicas, not Services
            return [yaml_artifact(f"{place.directory}/rollout.yaml", "gitops/rollouts/kserve-rollout.yaml.j2",
                                  place.where, env=env, pod_label=POD_LABEL, workload=predictor_name(spec),
                                  rollout=RolloutPlan(place.analysis_template)),
                    yaml_artifact(f"{place.directory}/hpa.yaml", "gitops/rollouts/hpa.yaml.j2", place.where,
                                  metric=hpa_metric(spec.serving.autoscaling), min_replicas=max(env.replicas, 1))]
        return []

    def kinds(self, spec: Spec) -> list[Kind]:
        kinds = [Kind("serving.kserve.io", "InferenceService")]
        if self.mode == "raw":
            kinds += [Kind("argoproj.io", "Rollout"), Kind("autoscaling", "HorizontalPodAutoscaler")]
        return kinds

    def controller_objects(self, spec: Spec) -> list[ControllerObject]:
        labels = ((POD_LABEL, spec.name), ("component", "predictor"))
        reconcilers = "kserve/kserve pkg/controller/v1beta1/inferenceservice/reconcilers/"
        if self.mode == "serverless":
            revision = f"{predictor_name(spec)}-<generation>"
            return [ControllerObject("serving.knative.dev/Service", predictor_name(spec),
                                     reconcilers + "knative/ksvc_reconciler.go", labels=labels),
                    ControllerObject("Service", f"{revision}-private",
                                     "knative/serving pkg/reconciler/serverlessservice/resources/services.go",
                                     ports=(("http", 80), ("http-autometric", 9090), ("http-usermetric", 9091)),
                                     labels=(("networking.internal.knative.dev/serviceType", "Private"),)),
                    ControllerObject("Pod", f"{revision}-deployment-<hash>",
                                     "knative/serving pkg/reconciler/revision/resources/meta.go",
                                     labels=(*labels, ("serving.knative.dev/revision", revision)))]
        raw_labels = (*labels, ("app", f"isvc.{predictor_name(spec)}"))
        return [ControllerObject("apps/Deployment", predictor_name(spec),
                                 reconcilers + "deployment/deployment_reconciler.go", labels=raw_labels),
                ControllerObject("Service", predictor_name(spec), reconcilers + "service/service_reconciler.go",
                                 ports=(("<the container's first port name>", 80),), labels=raw_labels),
                ControllerObject("autoscaling/HorizontalPodAutoscaler", predictor_name(spec),
                                 reconcilers + "hpa/hpa_reconciler.go")]

    def mode_annotation(self, spec: Spec) -> str:
        """The serving.kserve.io/deploymentMode value of the platform's KServe version."""
        if spec.platform.version("kserve") >= RENAMED_MODES:
            return "Knative" if self.mode == "serverless" else "Standard"
        return "Serverless" if self.mode == "serverless" else "RawDeployment"

    def spreads(self, spec: Spec) -> bool:
        """Whether the pods can carry topologySpreadConstraints (Knative drops them without the flag)."""
        return self.mode == "raw" or TOPOLOGY_FLAG in spec.platform.knative_features

    def problems(self, spec: Spec) -> Iterator[RuleProblem]:
        rollouts = self.mode == "raw" and any(self._rollout(env) for env in spec.deploy.environments)
        needs = [("kserve", MIN_KSERVE, "KServe {v} is older than 0.12, the first mlopsgen renders for"),
                 ("argocd", MIN_ARGOCD, "Argo CD {v} has no health check for InferenceServices (from 2.8), so the "
                                        "pipeline's wait would not wait for the model")]
        if rollouts:
            needs.append(("argoRollouts", MIN_ROLLOUTS_WORKLOAD,
                          "Argo Rollouts {v} cannot scale KServe's Deployment down progressively "
                          "(workloadRef.scaleDown, from 1.7)"))
        for name, minimum, message in needs:
            if spec.platform.version(name) < minimum:
                yield RuleProblem(("platform", name), message.format(v=version_text(spec.platform.version(name))),
                                  PLATFORM_HINT.format(field=name), "platform-version")
        if self.mode == "serverless":
            yield from self._placement_problems(spec)

    def _placement_problems(self, spec: Spec) -> Iterator[RuleProblem]:
        wanted = placement(spec)
        scheduling = spec.serving.scheduling
        at = ("serving", "scheduling") if scheduling.node_selector or scheduling.spot or scheduling.gpu_type \
            else ("serving", "resources", "gpu")
        for present, flag, what in ((wanted.node_selector, NODE_SELECTOR_FLAG, "a nodeSelector"),
                                    (wanted.tolerations, TOLERATIONS_FLAG, "tolerations")):
            if present and flag not in spec.platform.knative_features:
                yield RuleProblem(at, f"this placement needs {what} on a serverless InferenceService, which Knative "
                                  f"drops unless its {flag} flag is enabled",
                                  f"enable {flag} in Knative's config-features and list it in "
                                  "platform.knative.features, or use deploymentMode: raw", "knative-flag")
