"""How a query finds one version of the model: the pod labels that tell versions apart.

Every runtime's release puts RELEASE_LABEL on the pods of each version, the image tag made a valid
label value (`release_label`), so `mlopsgen analyze --release <tag>` reads the new version's
series alone. Under Argo Rollouts each ReplicaSet's pods also carry ROLLOUT_HASH_LABEL
(argoproj/argo-rollouts pkg/apis/rollouts/v1alpha1/types.go DefaultRolloutUniqueLabelKey, set
by rollout/sync.go getNewReplicaSet); the AnalysisTemplate takes the new ReplicaSet's hash as an argument that the
Rollout fills from `valueFrom.podTemplateHashValue: Latest` (argo-rollouts
docs/features/analysis.md, "Analysis arguments"). The ServiceMonitor copies both labels onto every
scraped series (podTargetLabels), where Prometheus spells them with `_` for every other character.
"""

from __future__ import annotations

import hashlib
import re

RELEASE_LABEL = "mlopsgen.io/release"
ROLLOUT_HASH_LABEL = "rollouts-pod-template-hash"
CANARY_HASH_ARG = "canary-hash"  # the AnalysisTemplate's argument, filled by the Rollout

_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")


def prometheus_label(pod_label: str) -> str:
    """A pod label as podTargetLabels store it: every character outside [a-zA-Z0-9_] becomes _."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", pod_label)


def image_tag(image: str) -> str:
    """The tag (or digest) of an image reference; the reference itself when it has neither."""
    if "@" in image:
        return image.rsplit("@", 1)[1]
    name = image.rsplit("/", 1)[-1]
    return name.rsplit(":", 1)[1] if ":" in name else image


def release_label(image_or_tag: str) -> str:
    """The RELEASE_LABEL value of a release: its tag when that is a valid label value (63
    characters of [A-Za-z0-9._-], alphanumeric at both ends), else `r-` and a digest of it."""
    tag = image_tag(image_or_tag)
    if _LABEL_VALUE.match(tag):
        return tag
    return "r-" + hashlib.sha256(tag.encode()).hexdigest()[:20]
