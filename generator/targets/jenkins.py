"""Jenkins: a declarative Jenkinsfile with the same stages as the GitLab pipeline, and a second
one for continuous training when the spec's training runs on Jenkins."""

from __future__ import annotations

from dataclasses import dataclass

from generator.artifacts import PlannedArtifact, Syntax
from generator.model import Spec
from generator.targets.registries import registry_login
from generator.targets.stages import deploy_stages, source_scans

RETRAIN_SCRIPT_PATH = "Jenkinsfile.retrain"


@dataclass(frozen=True)
class Jenkins:
    name: str = "jenkins"

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        if "jenkins" not in spec.ci.targets:
            return []
        context = {"deploys": deploy_stages(spec), "scans": source_scans(spec), "registry_login": registry_login(spec)}
        planned = [PlannedArtifact("Jenkinsfile", "jenkins/Jenkinsfile.j2", Syntax.JENKINSFILE, "ci", context)]
        if spec.training is not None and spec.training.orchestrator == "jenkins":
            planned.append(PlannedArtifact(RETRAIN_SCRIPT_PATH, "jenkins/Jenkinsfile.retrain.j2", Syntax.JENKINSFILE,
                                           "training", {}))
        return planned
