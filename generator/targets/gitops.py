"""GitOps manifests: kustomize base + overlays with a KServe InferenceService, monitoring, Argo CD."""

from __future__ import annotations

from dataclasses import dataclass

from generator.artifacts import PlannedArtifact, Syntax
from generator.model import Spec
from generator.promql import slo_queries


def initial_image(spec: Spec) -> str:
    return f"{spec.build.registry.image}:{spec.model.version}"


@dataclass(frozen=True)
class ArgoCDKServe:
    name: str = "gitops"

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        root = spec.deploy.gitops.path
        image = {"image": initial_image(spec)}
        files = [
            PlannedArtifact(f"{root}/base/kustomization.yaml", "gitops/base/kustomization.yaml.j2", Syntax.YAML,
                            "deploy"),
            PlannedArtifact(f"{root}/base/inferenceservice.yaml", "gitops/base/inferenceservice.yaml.j2",
                            Syntax.YAML, "serving", image),
            PlannedArtifact(f"{root}/base/servicemonitor.yaml", "gitops/base/servicemonitor.yaml.j2", Syntax.YAML,
                            "monitoring"),
            PlannedArtifact(f"{root}/argocd/kustomization.yaml", "gitops/argocd/kustomization.yaml.j2",
                            Syntax.YAML, "deploy.environments"),
            PlannedArtifact(f"{root}/argocd/appproject.yaml", "gitops/argocd/appproject.yaml.j2", Syntax.YAML,
                            "deploy.argocd"),
        ]
        for i, env in enumerate(spec.deploy.environments):
            where = f"deploy.environments[{i}]"
            overlay = f"{root}/overlays/{env.name}"
            context = {"env": env}
            files += [
                PlannedArtifact(f"{overlay}/kustomization.yaml", "gitops/overlay/kustomization.yaml.j2", Syntax.YAML,
                                where, context),
                PlannedArtifact(f"{overlay}/environment.yaml", "gitops/overlay/environment.yaml.j2", Syntax.YAML,
                                where, context),
                PlannedArtifact(f"{overlay}/release.yaml", "gitops/overlay/release.yaml.j2", Syntax.YAML, where,
                                {"env": env, **image}, seed=True),
                PlannedArtifact(f"{root}/argocd/application-{env.name}.yaml", "gitops/argocd/application.yaml.j2",
                                Syntax.YAML, where, context),
            ]
            if spec.monitoring.slos:  # one alert per SLO; no SLOs, no rule
                files.append(PlannedArtifact(f"{overlay}/prometheusrule.yaml", "gitops/overlay/prometheusrule.yaml.j2",
                                             Syntax.YAML, "monitoring.slos",
                                             {"env": env, "queries": slo_queries(spec, env)}))
        return sorted(files, key=lambda a: a.path)
