"""CI targets are plugins behind one registry: each renders its pipeline files, names the
verifiers they need, and says what runs around a commit of them (the CI host's lint, pipeline
schedules) and how a merge request describes its pipeline.

`ci.targets` in the schema must list exactly the registry's names (tests/test_plugins.py).
Adding a CI target means one module in generator/render/targets/, its blueprints, a verifier for
its pipeline syntax if it has a new one (generator/render/verify/), and one entry in CI_TARGETS.
"""

from __future__ import annotations

from typing import Protocol

from generator.artifacts import PlannedArtifact, RenderedFile, Syntax
from generator.model import Spec
from generator.render.targets.gitlab import GitLabCI
from generator.render.targets.jenkins import Jenkins


class CITarget(Protocol):
    @property
    def name(self) -> str:
        """Its value in ci.targets."""
        ...

    @property
    def pipeline_file(self) -> str:
        """The file that defines the delivery pipeline."""
        ...

    @property
    def syntaxes(self) -> tuple[Syntax, ...]:
        """The verifiers (generator/render/verify) its files need."""
        ...

    @property
    def host_lint(self) -> str:
        """Who lints pipeline_file on the CI host before a commit ("" when nobody does):
        the repository backend's lint_ci is asked when it offers one."""
        ...

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        """The files this target renders for the spec (none when the spec does not ask for it)."""
        ...

    def pipeline_diagram(self, files: list[RenderedFile]) -> str | None:
        """A Mermaid diagram of the rendered pipeline, for merge request descriptions."""
        ...

    def manages_schedules(self, spec: Spec) -> bool:
        """Whether a sync through the CI host reconciles its pipeline schedules for this spec."""
        ...

    def retraining_schedule(self, spec: Spec) -> str | None:
        """The cron of the pipeline schedule the CI host must keep for retraining; None for none
        (also when the target's own pipeline file carries the trigger)."""
        ...


CI_TARGETS: tuple[CITarget, ...] = (GitLabCI(), Jenkins())


def ci_target_names() -> tuple[str, ...]:
    return tuple(target.name for target in CI_TARGETS)
