"""The names of the GitOps objects and files mlopsgen makes for a model and an environment, built
once here so blueprints only place them (the runtimes name their own objects)."""

from __future__ import annotations

from generator.frozen import frozen
from generator.model import Environment, Spec


@frozen
class EnvironmentNames:
    application: str  # the Argo CD Application, and the app.kubernetes.io/instance label
    application_file: str  # its file under argocd/
    overlay: str  # the overlay's directory, the Application's source path
    slo_objects: str  # the PrometheusRule and the AnalysisTemplate made from the SLOs
    slo_group: str  # the PrometheusRule's rule group
    dashboard: str  # the dashboard's ConfigMap
    dashboard_file: str  # its key: the Grafana sidecar writes every key into one folder


def environment_names(spec: Spec, env: Environment) -> EnvironmentNames:
    instance = f"{spec.name}-{env.name}"
    return EnvironmentNames(
        application=instance,
        application_file=f"application-{env.name}.yaml",
        overlay=f"{spec.deploy.gitops.path}/overlays/{env.name}",
        slo_objects=f"{spec.name}-slos",
        slo_group=f"{instance}.slos",
        dashboard=f"{spec.name}-dashboard",
        dashboard_file=f"{instance}.json",
    )


@frozen
class ModelNames:
    metrics_service: str  # the headless Service the ServiceMonitor scrapes the model through
    metrics_label: str  # the label on it the ServiceMonitor selects (value: the model's name)


def model_names(spec: Spec) -> ModelNames:
    return ModelNames(metrics_service=f"{spec.name}-metrics", metrics_label="mlopsgen.io/metrics-of")


def project_description(spec: Spec) -> str:
    return f"Models of team {spec.metadata.team}"
