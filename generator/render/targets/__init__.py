"""Targets turn the spec into planned artifacts from their own blueprints: the CI targets (a plugin
kind with its own protocol and registry, ci.py), the GitOps manifests (whose serving objects come
from the runtime plugins, generator/runtimes), the image build, the release script and the Airflow
DAG. Adding a CI target: see ci.py; another kind of output: one module here and one entry in
all_targets.
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
    """The CI targets (their own registry, generator/render/targets/ci.py) and the other outputs."""
    from generator.render.targets import airflow, docker, gitops, release_script
    from generator.render.targets.ci import CI_TARGETS

    return (*CI_TARGETS, release_script.ReleaseScript(), docker.Docker(), gitops.ArgoCDGitOps(), airflow.Airflow())
