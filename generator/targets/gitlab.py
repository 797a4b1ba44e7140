"""GitLab CI: .gitlab-ci.yml with MR/default-branch/tag/schedule workflow and a needs DAG."""

from __future__ import annotations

from dataclasses import dataclass

from generator.artifacts import PlannedArtifact, Syntax
from generator.model import Spec
from generator.targets.registries import registry_login
from generator.targets.stages import deploy_stages, source_scans


@dataclass(frozen=True)
class GitLabCI:
    name: str = "gitlab"

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        if "gitlab" not in spec.ci.targets:
            return []
        tests = spec.ci.tests
        gate_needs = [job for job, on in (("unit-tests", tests.unit), ("data-validation", tests.data_validation)) if on]
        build_needs = [job for job, on in (("mlopsgen-check", True), ("lint", tests.lint),
                                           ("model-validation", tests.model_validation),
                                           ("unit-tests", tests.unit and not tests.model_validation),
                                           ("data-validation", tests.data_validation and not tests.model_validation))
                       if on]
        ct = spec.training is not None and spec.training.orchestrator == "gitlab"
        if spec.training is not None:  # the deploy never references a model version the registry lacks
            build_needs.append("model-registered")
        context = {"deploys": deploy_stages(spec), "start_in": start_in, "gate_needs": gate_needs, "ct": ct,
                   "delivery_only": '$MLOPSGEN_PIPELINE != "retrain"' if ct else '$CI_PIPELINE_SOURCE != "schedule"',
                   "build_needs": build_needs, "scans": source_scans(spec),
                   "registry_login": registry_login(spec)}
        return [PlannedArtifact(".gitlab-ci.yml", "gitlab/gitlab-ci.yml.j2", Syntax.GITLAB_CI, "ci", context)]


def start_in(seconds: int) -> str:
    """GitLab's `start_in` wording for a pause."""
    if seconds % 3600 == 0:
        n, unit = seconds // 3600, "hour"
    elif seconds % 60 == 0:
        n, unit = seconds // 60, "minute"
    else:
        n, unit = seconds, "second"
    return f"{n} {unit}{'s' if n != 1 else ''}"

