"""What runs in an environment: the state `promote` and `rollback` store beside the release patch
(release-history.yaml), so that they work on a GitOps tree without the spec. Each runtime turns a
state into the JSON patches of its release files (ServingRuntime.release_ops)."""

from __future__ import annotations

from generator.frozen import frozen


@frozen
class ReleaseState:
    stable: str  # the image serving (all) traffic
    candidate: str = ""  # the new image while a canary, shadow or preview runs
    traffic: int = 0  # the candidate's share of traffic, 0 for shadow and preview
    shadow: bool = False  # the candidate gets a mirror of the traffic; its answers are dropped
    # a candidate was rolled back: the runtime keeps all traffic on what served before it until the
    # next promotion (KServe serverless: canaryTrafficPercent 0, see generator/runtimes/kserve.py)
    pinned: bool = False
    # the first step of a two-step rollback (Capabilities.two_step_rollback): the traffic is back on
    # this image's revision, the spec still names the failed one; the next rollback restores it
    rollback_to: str = ""

    @property
    def serving(self) -> str:
        return self.candidate or self.stable
