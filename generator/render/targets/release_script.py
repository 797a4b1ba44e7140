"""ci/mlopsgen-release.sh: the one script both CI targets call to promote or roll back."""

from __future__ import annotations

from dataclasses import dataclass

from generator.artifacts import PlannedArtifact, Syntax
from generator.model import Spec

RELEASE_SCRIPT = "ci/mlopsgen-release.sh"


@dataclass(frozen=True)
class ReleaseScript:
    name: str = "release-script"

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        server, _, project = spec.deploy.gitops.repo.removesuffix(".git").partition("://")[2].partition("/")
        context = {"gitops_server": f"https://{server}", "gitops_project": project}
        return [PlannedArtifact(RELEASE_SCRIPT, "scripts/mlopsgen-release.sh.j2", Syntax.SHELL, "deploy.gitops",
                                context, executable=True)]
