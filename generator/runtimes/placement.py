"""Node placement of model replicas: GPU node pools and spot capacity on EKS and GKE."""

from __future__ import annotations

from dataclasses import dataclass

from generator.model import Spec

GPU_LABEL = {"gke": "cloud.google.com/gke-accelerator", "eks": "k8s.amazonaws.com/accelerator"}
SPOT_LABEL = {"gke": ("cloud.google.com/gke-spot", "true"), "eks": ("eks.amazonaws.com/capacityType", "SPOT")}


@dataclass(frozen=True)
class Toleration:
    key: str
    operator: str
    value: str
    effect: str


@dataclass(frozen=True)
class Placement:
    node_selector: tuple[tuple[str, str], ...]
    tolerations: tuple[Toleration, ...]

    @property
    def empty(self) -> bool:
        return not self.node_selector and not self.tolerations


def placement(spec: Spec) -> Placement:
    scheduling = spec.serving.scheduling
    selector = dict(scheduling.node_selector)
    tolerations = []
    if spec.serving.resources.gpu:
        if scheduling.gpu_type and scheduling.cloud in GPU_LABEL:
            selector[GPU_LABEL[scheduling.cloud]] = scheduling.gpu_type
        tolerations.append(Toleration("nvidia.com/gpu", "Exists", "", "NoSchedule"))
    if scheduling.spot and scheduling.cloud in SPOT_LABEL:
        key, value = SPOT_LABEL[scheduling.cloud]
        selector[key] = value
        if scheduling.cloud == "gke":
            tolerations.append(Toleration(key, "Equal", value, "NoSchedule"))
    return Placement(tuple(sorted(selector.items())), tuple(tolerations))
