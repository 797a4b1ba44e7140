"""What a serving runtime plugin is: the ServingRuntime protocol and the typed values it returns.

A runtime owns everything about its controller: the objects mlopsgen renders for it, the
strategies it can carry out, the objects its controller creates from them (names, ports, labels,
each with the upstream source that decides it), how a release is written (JSON patches on named
targets) and its own validation rules. Stages read runtimes only through this protocol and the
registry in generator/runtimes/__init__.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from generator.artifacts import PlannedArtifact, Syntax
from generator.frozen import frozen
from generator.model import Environment, Spec
from generator.runtimes.exporters import Exporter
from generator.runtimes.release_state import ReleaseState
from generator.runtimes.rollouts import OverlayPlace

Ops = list[dict[str, Any]]
# The patch file `promote` and `rollback` rewrite in each overlay; a runtime whose release touches
# more than one object names one file per target (ReleasePatch.file).
RELEASE_FILE = "release.yaml"


@frozen
class PatchTarget:
    """A kustomize patch target: the object a JSON 6902 patch applies to."""

    group: str
    version: str
    kind: str
    name: str


@frozen
class ReleasePatch:
    """One file of an environment's release: which object it patches."""

    file: str
    target: PatchTarget


@frozen
class Scrape:
    """Where the model's own metrics are: the pods carrying `selector: <model name>`, on container
    port `port` at `path`. mlopsgen renders a headless metrics Service over those pods and a
    ServiceMonitor that copies `target_labels` (pod labels) onto every series: the first names the
    model, the others tell its versions apart (generator/runtimes/versions.py)."""

    selector: str
    port: int
    path: str
    target_labels: tuple[str, ...]

    @property
    def model_label(self) -> str:
        return self.target_labels[0]


@frozen
class Kind:
    """An API group and kind Argo CD must be allowed to create."""

    group: str
    kind: str


@frozen
class ControllerObject:
    """An object the runtime's controller creates from what mlopsgen renders, as the controller names
    and labels it. `source` is the upstream file (repository/path) that decides it."""

    kind: str
    name: str
    source: str
    ports: tuple[tuple[str, int], ...] = ()  # (port name, number)
    labels: tuple[tuple[str, str], ...] = ()


@frozen
class Capabilities:
    """What the runtime can do, read by the rules, normalise, release and the CI stages."""

    strategies: frozenset[str]  # deployment strategies it can carry out
    shadow: bool = False  # mirrors traffic to a candidate whose answers are dropped
    preview: bool = False  # a 0 % candidate reachable for tests before promotion (pipeline-driven)
    scale_to_zero: bool = False  # minReplicas: 0 is honoured
    controller_driven: bool = False  # Argo Rollouts runs the steps and the analysis, not the pipeline
    # rolling back a fully promoted version takes two commits: traffic back first (the image
    # unchanged), then the image (ReleaseState.rollback_to; generator/runtimes/kserve.py says why)
    two_step_rollback: bool = False


@frozen
class RuleProblem:
    """A spec problem a runtime's own rule found: the field's path, and what to say."""

    path: tuple[str | int, ...]
    message: str
    hint: str
    code: str
    key: bool = False  # point at the key rather than its value


class ServingRuntime(Protocol):
    """One serving runtime. `key` names it in messages, release histories and the registry;
    `spec_name` and `mode` are how a spec selects it (serving.runtime, serving.deploymentMode)."""

    @property
    def key(self) -> str: ...

    @property
    def spec_name(self) -> str: ...

    @property
    def mode(self) -> str | None: ...

    @property
    def label(self) -> str:
        """How a hint names it: "bentoml", "kserve in serverless mode"."""
        ...

    @property
    def selection(self) -> str:
        """How a spec selects it, for hints: "serving.runtime: bentoml"."""
        ...

    @property
    def capabilities(self) -> Capabilities: ...

    def base(self, spec: Spec, root: str, image: str) -> list[PlannedArtifact]:
        """The serving objects of the kustomize base."""
        ...

    def overlay(self, spec: Spec, env: Environment, place: OverlayPlace) -> list[PlannedArtifact]:
        """Extra objects an environment's overlay needs (an Argo Rollout, ...)."""
        ...

    def environment_patch(self, spec: Spec, env: Environment) -> tuple[PatchTarget, Ops]:
        """The environment's sizing, as a JSON patch on one target."""
        ...

    def release_patches(self, spec: Spec) -> list[ReleasePatch]:
        """The targets the release files patch (one file each)."""
        ...

    def release_ops(self, state: ReleaseState) -> dict[str, Ops]:
        """The release files' contents for a release state, by file name."""
        ...

    def scrape(self, spec: Spec) -> Scrape: ...

    @property
    def exporters(self) -> tuple[Exporter, ...]:
        """The metric names its controller's stock model servers export (generator/runtimes/exporters.py);
        the first is the spec's monitoring.exporter when it names none (default_exporter)."""
        ...


    def kinds(self, spec: Spec) -> list[Kind]: ...

    def controller_objects(self, spec: Spec) -> list[ControllerObject]: ...

    def problems(self, spec: Spec) -> Iterator[RuleProblem]:
        """The runtime's own validation rules on the typed spec."""
        ...


def yaml_artifact(path: str, blueprint: str, origin: str, **context: Any) -> PlannedArtifact:
    return PlannedArtifact(path, blueprint, Syntax.YAML, origin, context)
