"""What runs in an environment, and the kustomize JSON patch that says so for each runtime.

The state is stored beside the patch (release-history.yaml), so `promote` and `rollback` work
on a GitOps tree without the spec; each runtime patches fixed paths of its base manifests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Ops = list[dict[str, Any]]
KSERVE_IMAGE = "/spec/predictor/containers/0/image"
KSERVE_TRAFFIC = "/spec/predictor/canaryTrafficPercent"
SELDON_MAIN = "/spec/predictors/0"
SELDON_CANDIDATE = "/spec/predictors/1"
SELDON_IMAGE = "/componentSpecs/0/spec/containers/0/image"
ROLLOUT_IMAGE = "/spec/template/spec/containers/0/image"


@dataclass(frozen=True)
class ReleaseState:
    stable: str  # the image serving (all) traffic
    candidate: str = ""  # the new image while a canary, shadow or preview runs
    traffic: int = 0  # the candidate's share of traffic, 0 for shadow and preview
    shadow: bool = False  # the candidate gets a mirror of the traffic; its answers are dropped

    @property
    def serving(self) -> str:
        return self.candidate or self.stable


def _kserve_serverless(state: ReleaseState) -> Ops:
    ops: Ops = [{"op": "replace", "path": KSERVE_IMAGE, "value": state.serving}]
    if state.candidate:  # Knative keeps the previous revision serving the rest (0 %: a tagged preview)
        ops.append({"op": "add", "path": KSERVE_TRAFFIC, "value": state.traffic})
    return ops


def _kserve_raw(state: ReleaseState) -> Ops:
    # the Argo Rollout that references KServe's Deployment runs the canary on this change
    return [{"op": "replace", "path": KSERVE_IMAGE, "value": state.serving}]


def _seldon(state: ReleaseState) -> Ops:
    active = bool(state.candidate)
    return [
        {"op": "replace", "path": SELDON_MAIN + SELDON_IMAGE, "value": state.stable},
        {"op": "replace", "path": SELDON_MAIN + "/traffic", "value": 100 - (0 if state.shadow else state.traffic)},
        {"op": "replace", "path": SELDON_CANDIDATE + SELDON_IMAGE, "value": state.candidate or state.stable},
        {"op": "replace", "path": SELDON_CANDIDATE + "/traffic", "value": 0 if state.shadow else state.traffic},
        {"op": "replace", "path": SELDON_CANDIDATE + "/replicas", "value": 1 if active else 0},
        {"op": "replace", "path": SELDON_CANDIDATE + "/shadow", "value": state.shadow},
    ]


def _rollout(state: ReleaseState) -> Ops:
    return [{"op": "replace", "path": ROLLOUT_IMAGE, "value": state.serving}]


RELEASE_OPS: dict[str, Callable[[ReleaseState], Ops]] = {
    "kserve-serverless": _kserve_serverless,
    "kserve-raw": _kserve_raw,
    "seldon": _seldon,
    "bentoml": _rollout,
}
# Argo Rollouts runs the steps and the analysis itself: promote sets the image, nothing more.
CONTROLLER_DRIVEN = frozenset({"kserve-raw", "bentoml"})
CAN_SHADOW = frozenset({"seldon"})
CAN_PREVIEW = frozenset({"kserve-serverless"})


def release_ops(runtime: str, state: ReleaseState) -> Ops:
    return RELEASE_OPS[runtime](state)
