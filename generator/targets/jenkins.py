"""Jenkins: a declarative Jenkinsfile with the same stages as the GitLab pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from generator.artifacts import PlannedArtifact, Syntax
from generator.model import Spec
from generator.targets.registries import registry_login
from generator.targets.stages import deploy_stages, source_scans


@dataclass(frozen=True)
class Jenkins:
    name: str = "jenkins"

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        if "jenkins" not in spec.ci.targets:
            return []
        context = {"deploys": deploy_stages(spec), "scans": source_scans(spec), "registry_login": registry_login(spec)}
        return [PlannedArtifact("Jenkinsfile", "jenkins/Jenkinsfile.j2", Syntax.JENKINSFILE, "ci", context)]
