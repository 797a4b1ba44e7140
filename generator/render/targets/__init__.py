"""Targets are plugins: each turns the spec into planned artifacts from its own blueprints.

Adding a target means one module here, its blueprints, and one line in TARGETS.
"""

from __future__ import annotations

from typing import Protocol

from generator.artifacts import PlannedArtifact
from generator.model import Spec


class Target(Protocol):
    @property
    def name(self) -> str:
        """Short name used in messages."""
        ...

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        """The files this target renders for the spec (none when the spec does not ask for it)."""
        ...


def all_targets() -> tuple[Target, ...]:
    from generator.render.targets import airflow, docker, gitlab, gitops, jenkins, release_script

    return (gitlab.GitLabCI(), jenkins.Jenkins(), release_script.ReleaseScript(), docker.Docker(),
            gitops.ArgoCDGitOps(), airflow.Airflow())
