"""Which artifacts to render for a spec: the union of every target plugin's plan."""

from __future__ import annotations

from generator.artifacts import PlannedArtifact
from generator.model import Spec
from generator.render.targets import all_targets


def plan(spec: Spec) -> list[PlannedArtifact]:
    planned: list[PlannedArtifact] = []
    owners: dict[str, str] = {}
    for target in all_targets():
        for artifact in target.plan(spec):
            if artifact.path in owners:  # two plugins claiming one path is a bug, not a user error
                raise RuntimeError(f"{artifact.path} is planned by both {owners[artifact.path]} and {target.name}")
            owners[artifact.path] = target.name
            planned.append(artifact)
    return sorted(planned, key=lambda a: a.path)
