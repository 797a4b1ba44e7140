"""GitOps manifests: a kustomize base with the runtime's serving objects and a ServiceMonitor,
an overlay per environment (sizing, release state, SLO alerts, analysis, dashboard, rollout, and in
production a PodDisruptionBudget),
and the Argo CD Applications and AppProject. The serving runtime is a plugin (generator/runtimes)."""

from __future__ import annotations

from generator.artifacts import PlannedArtifact, Syntax
from generator.frozen import frozen
from generator.model import Environment, Spec
from generator.render.dashboard import dashboard_json
from generator.render.promql import rollout_version, slo_queries
from generator.render.release import history_text, release_texts
from generator.render.targets.gitops_names import environment_names, model_names, project_description
from generator.runtimes import runtime_for
from generator.runtimes.base import Kind, ServingRuntime
from generator.runtimes.release_state import ReleaseState
from generator.runtimes.rollouts import ANALYSIS_ARGS, OverlayPlace


def initial_image(spec: Spec) -> str:
    return f"{spec.build.registry.image}:{spec.model.version}"


def _yaml(path: str, blueprint: str, origin: str, **context: object) -> PlannedArtifact:
    return PlannedArtifact(path, blueprint, Syntax.YAML, origin, dict(context))


def analysis_template(spec: Spec, env: Environment) -> PlannedArtifact:
    """The AnalysisTemplate an Argo Rollout runs on its new ReplicaSet (ANALYSIS_ARGS)."""
    names = environment_names(spec, env)
    return _yaml(f"{names.overlay}/analysistemplate.yaml", "gitops/overlay/analysistemplate.yaml.j2",
                 "monitoring.slos", env=env, queries=slo_queries(spec, env, rollout_version()), names=names,
                 args=ANALYSIS_ARGS)


def dashboard(spec: Spec, env: Environment) -> PlannedArtifact:
    names = environment_names(spec, env)
    return _yaml(f"{names.overlay}/dashboard.yaml", "gitops/overlay/dashboard.yaml.j2", "monitoring",
                 env=env, names=names, dashboard_json=dashboard_json(spec, env))


@frozen
class ArgoCDGitOps:
    name: str = "gitops"

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        runtime = runtime_for(spec)
        root = spec.deploy.gitops.path
        image = initial_image(spec)
        base = runtime.base(spec, root, image)
        files = base + [
            _yaml(f"{root}/base/servicemonitor.yaml", "gitops/base/servicemonitor.yaml.j2", "monitoring",
                  scrape=runtime.scrape(spec), names=model_names(spec)),
            _yaml(f"{root}/base/metrics-service.yaml", "gitops/base/metrics-service.yaml.j2", "monitoring",
                  scrape=runtime.scrape(spec), names=model_names(spec)),
            _yaml(f"{root}/base/kustomization.yaml", "gitops/base/kustomization.yaml.j2", "deploy",
                  resources=sorted([a.path.rsplit("/", 1)[1] for a in base]
                                   + ["metrics-service.yaml", "servicemonitor.yaml"])),
            _yaml(f"{root}/argocd/kustomization.yaml", "gitops/argocd/kustomization.yaml.j2", "deploy.environments",
                  application_files=[environment_names(spec, env).application_file
                                     for env in spec.deploy.environments]),
            _yaml(f"{root}/argocd/appproject.yaml", "gitops/argocd/appproject.yaml.j2", "deploy.argocd",
                  kinds=list(dict.fromkeys(runtime.kinds(spec) + self._monitoring_kinds(spec, runtime)
                                           + [Kind("policy", "PodDisruptionBudget")])),
                  description=project_description(spec)),
        ]
        for i, env in enumerate(spec.deploy.environments):
            where = f"deploy.environments[{i}]"
            names = environment_names(spec, env)
            overlay = names.overlay
            queries = slo_queries(spec, env)
            extra = runtime.overlay(spec, env, OverlayPlace(overlay, where, image, names.slo_objects))
            if spec.monitoring.slos:
                extra.append(_yaml(f"{overlay}/prometheusrule.yaml", "gitops/overlay/prometheusrule.yaml.j2",
                                   "monitoring.slos", env=env, queries=queries, names=names))
            if runtime.capabilities.controller_driven and env.strategy != "rolling":  # the Rollout's analysis
                extra.append(analysis_template(spec, env))
            if spec.monitoring.dashboard:
                extra.append(dashboard(spec, env))
            if env.production:
                extra.append(_yaml(f"{overlay}/pdb.yaml", "gitops/overlay/pdb.yaml.j2", where,
                                   scrape=runtime.scrape(spec)))
            env_target, env_ops = runtime.environment_patch(spec, env)
            state = ReleaseState(image)
            files += extra + [
                _yaml(f"{overlay}/kustomization.yaml", "gitops/overlay/kustomization.yaml.j2", where, env=env,
                      resources=sorted(a.path.rsplit("/", 1)[1] for a in extra), env_target=env_target,
                      release_patches=runtime.release_patches(spec), names=names),
                _yaml(f"{overlay}/environment.yaml", "gitops/overlay/environment.yaml.j2", where, ops=env_ops),
                *(PlannedArtifact(f"{overlay}/{file}", "", Syntax.YAML, where, seed=True, literal=text)
                  for file, text in release_texts(env.name, runtime.key, state).items()),
                PlannedArtifact(f"{overlay}/release-history.yaml", "", Syntax.YAML, where, seed=True,
                                literal=history_text(env.name, runtime.key, state, [])),
                _yaml(f"{root}/argocd/{names.application_file}", "gitops/argocd/application.yaml.j2", where,
                      env=env, names=names),
            ]
        return sorted(files, key=lambda a: a.path)

    @staticmethod
    def _monitoring_kinds(spec: Spec, runtime: ServingRuntime) -> list[Kind]:
        kinds = [Kind("monitoring.coreos.com", "ServiceMonitor"), Kind("", "Service")]
        if spec.monitoring.dashboard:
            kinds.append(Kind("", "ConfigMap"))
        if spec.monitoring.slos:
            kinds.append(Kind("monitoring.coreos.com", "PrometheusRule"))
        if runtime.capabilities.controller_driven:
            kinds.append(Kind("argoproj.io", "AnalysisTemplate"))
        return kinds
