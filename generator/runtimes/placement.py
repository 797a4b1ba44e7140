"""Node placement of model replicas: GPU node pools and spot capacity on EKS and GKE, and their
spread over zones and nodes (soft: ScheduleAnyway, so a cluster with one zone still schedules)."""

from __future__ import annotations

from generator.frozen import frozen
from generator.model import Spec

GPU_LABEL = {"gke": "cloud.google.com/gke-accelerator", "eks": "k8s.amazonaws.com/accelerator"}
SPREAD_KEYS = ("topology.kubernetes.io/zone", "kubernetes.io/hostname")  # well-known node labels
SPOT_LABEL = {"gke": ("cloud.google.com/gke-spot", "true"), "eks": ("eks.amazonaws.com/capacityType", "SPOT")}


@frozen
class Toleration:
    key: str
    operator: str
    value: str
    effect: str


@frozen
class Placement:
    node_selector: tuple[tuple[str, str], ...]
    tolerations: tuple[Toleration, ...]
    spread: tuple[tuple[str, str], ...] = ()  # the pod labels topology spread counts; () for none
    spread_keys: tuple[str, ...] = SPREAD_KEYS


def placement(spec: Spec, spread_label: str = "") -> Placement:
    """Where the model's pods go. `spread_label` is the pod label (valued with the model's name)
    that topology spread counts the model's replicas by; "" where the runtime cannot spread them."""
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
    spread = ((spread_label, spec.name),) if spread_label else ()
    return Placement(tuple(sorted(selector.items())), tuple(tolerations), spread)
