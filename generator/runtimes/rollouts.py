"""The Argo Rollout the controller-driven runtimes render: which Services it switches and which
AnalysisTemplate its steps run (argoproj/argo-rollouts: rollout/canary.go patches the
canaryService/stableService selectors with rollouts-pod-template-hash; rollout/bluegreen.go the
activeService/previewService)."""

from __future__ import annotations

from generator.frozen import frozen
from generator.runtimes.versions import CANARY_HASH_ARG

# The AnalysisTemplate's arguments and where the Rollout takes each from: the pod template hash of
# the new ReplicaSet (Latest; argo-rollouts docs/features/analysis.md, "podTemplateHashValue").
# The stable version is every other pod of the model (promql.Version.matcher("!=")).
ANALYSIS_ARGS: tuple[tuple[str, str], ...] = ((CANARY_HASH_ARG, "Latest"),)


@frozen
class RolloutPlan:
    analysis_template: str  # the AnalysisTemplate every analysis step and pre-promotion runs
    stable_service: str = ""  # "" when the runtime's controller owns the Service (KServe raw)
    preview_service: str = ""  # canary pods, or the blue-green preview
    args: tuple[tuple[str, str], ...] = ANALYSIS_ARGS  # the analysis arguments and their podTemplateHashValue

    @property
    def services(self) -> bool:
        return bool(self.stable_service)


@frozen
class OverlayPlace:
    """Where an environment's overlay objects go and what they refer to."""

    directory: str  # the overlay's path in the output
    where: str  # the spec section behind it, for verification errors
    image: str  # the image first deployed
    analysis_template: str  # the name of the environment's SLO AnalysisTemplate
