"""ci/mlopsgen-release.sh: the one script both CI targets call to promote or roll back."""

from __future__ import annotations

from generator.artifacts import PlannedArtifact, Syntax
from generator.frozen import frozen
from generator.model import Spec
from generator.render.targets.gitops_names import environment_names

RELEASE_SCRIPT = "ci/mlopsgen-release.sh"


@frozen
class ArgoCDApplication:
    """The Application of one environment, and who syncs it: Argo CD itself (`auto`, its
    syncPolicy.automated: blueprints/gitops/argocd/application.yaml.j2) or the script (`manual`)."""

    env: str
    application: str
    sync: str  # auto | manual


@frozen
class ReleaseScript:
    name: str = "release-script"

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        server, _, project = spec.deploy.gitops.repo.removesuffix(".git").partition("://")[2].partition("/")
        apps = [ArgoCDApplication(env.name, environment_names(spec, env).application, env.approval)
                for env in spec.deploy.environments]
        context = {"gitops_server": f"https://{server}", "gitops_project": project,
                   "environments": "\n".join(f"{app.env} {app.application} {app.sync}" for app in apps)}
        return [PlannedArtifact(RELEASE_SCRIPT, "scripts/mlopsgen-release.sh.j2", Syntax.SHELL, "deploy.gitops",
                                context, executable=True)]
