"""Raw, valid spec data → the frozen typed model, with every default filled in."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from generator import __version__
from generator.model import (
    CI,
    SLO,
    ArgoCD,
    Autoscaling,
    Build,
    CanaryStep,
    Champion,
    ColumnCheck,
    DataChecks,
    DataTrigger,
    Deploy,
    DriftCheck,
    Environment,
    Evaluation,
    GitOps,
    JenkinsSettings,
    KafkaTopic,
    Metadata,
    Model,
    ModelRegistry,
    ModelValidation,
    Monitoring,
    PayloadLogging,
    Registry,
    Resources,
    Scheduling,
    Security,
    Serving,
    Spec,
    Tests,
    Threshold,
    Training,
    TrainingTriggers,
)
from generator.spec.rules import slo_name
from generator.spec.strategies import effective_strategy, runtime_key

DEFAULT_CANARY_STEPS = ({"weight": 10, "pause": "5m"}, {"weight": 50, "pause": "10m"}, {"weight": 100})
DEFAULT_OBSERVATION = "30m"
# Signals that fail when they drop: too little traffic or data is the problem.
BREACH_BELOW = ("throughput", "inputVolume")


def spec_digest(data: Any) -> str:
    """sha256 of the spec's data, not its bytes: comments, layout and line endings do not count."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def normalise(data: dict[str, Any], source: str) -> Spec:
    meta = data["metadata"]
    build = data["build"]
    serving = data["serving"]
    ci = data["ci"]
    return Spec(
        source=source,
        digest=spec_digest(data),
        metadata=Metadata(meta["name"], meta["team"], tuple(meta.get("owners", ())), meta.get("description", "")),
        model=Model(**{k: str(v) for k, v in data["model"].items()}),
        build=Build(
            base_image=build["baseImage"],
            requirements=build.get("requirements", "requirements.txt"),
            source=build.get("source", "src"),
            entrypoint=tuple(build.get("entrypoint", ("python", "-m", meta["name"].replace("-", "_") + ".serve"))),
            registry=_registry(build["registry"]),
        ),
        serving=_serving(serving),
        ci=_ci(ci, build["baseImage"]),
        deploy=_deploy(data["deploy"], meta, serving.get("autoscaling", {}).get("minReplicas", 1),
                       runtime_key(serving), bool(data.get("monitoring", {}).get("slos"))),
        monitoring=_monitoring(data.get("monitoring", {})),
        training=_training(data["training"], data) if "training" in data else None,
    )


def _registry(registry: dict[str, Any]) -> Registry:
    aws, gcp = registry.get("aws", {}), registry.get("gcp", {})
    return Registry(registry.get("provider", "gitlab"), registry["image"], aws.get("region", ""),
                    aws.get("roleArn", ""), gcp.get("workloadIdentityProvider", ""), gcp.get("serviceAccount", ""))


def _serving(serving: dict[str, Any]) -> Serving:
    res = serving.get("resources", {})
    scaling = serving.get("autoscaling", {})
    cpu, memory = res.get("cpu", "500m"), res.get("memory", "1Gi")
    scheduling = serving.get("scheduling", {})
    logging = serving.get("payloadLogging")
    return Serving(
        runtime=serving.get("runtime", "kserve"),
        deployment_mode=serving.get("deploymentMode", "serverless") if serving.get("runtime", "kserve") == "kserve"
        else "",
        port=serving.get("port", 8080),
        health_path=serving.get("healthPath", "/healthz"),
        resources=Resources(cpu, memory, res.get("cpuLimit", cpu), res.get("memoryLimit", memory), res.get("gpu", 0)),
        autoscaling=Autoscaling(scaling.get("minReplicas", 1), scaling.get("maxReplicas", 3),
                                scaling.get("metric", "concurrency"), scaling.get("target", 10)),
        scheduling=Scheduling(scheduling.get("cloud", "any"), scheduling.get("gpuType", ""),
                              scheduling.get("spot", False),
                              tuple(sorted((str(k), str(v)) for k, v in scheduling.get("nodeSelector", {}).items()))),
        payload_logging=None if logging is None else PayloadLogging(logging["bootstrapServers"], logging["topic"],
                                                                    logging.get("mode", "all")),
    )


def _ci(ci: dict[str, Any], base_image: str) -> CI:
    tests = ci.get("tests", {})
    gate = tests.get("modelValidation")
    security = ci.get("security", {})
    jenkins = ci.get("jenkins", {})
    credentials = jenkins.get("credentials", {})
    return CI(
        targets=tuple(t for t in ("gitlab", "jenkins") if t in ci["targets"]),
        image=ci.get("image", base_image),
        default_branch=ci.get("defaultBranch", "main"),
        mlopsgen_package=ci.get("mlopsgenPackage", f"mlopsgen=={__version__}"),
        tests=Tests(
            lint=tests.get("lint"),
            unit=tests.get("unit"),
            data_validation=tests.get("dataValidation"),
            model_validation=None if gate is None else ModelValidation(
                command=gate["command"],
                metrics_file=gate.get("metricsFile", "metrics.json"),
                thresholds=_thresholds(gate["thresholds"]),
            ),
        ),
        security=Security(
            sast=security.get("sast", True),
            dependency_scan=security.get("dependencyScan", True),
            secret_detection=security.get("secretDetection", True),
            container_scan=security.get("containerScan", True),
            sbom=security.get("sbom", True),
            fail_on=security.get("failOn", "high"),
        ),
        jenkins=JenkinsSettings(jenkins.get("agentLabel", "linux"), credentials.get("registry", "registry-push"),
                                credentials.get("gitops", "gitops-push"), credentials.get("mlflow", "mlflow-token"),
                                credentials.get("gitlab", "gitlab-api-token")),
    )


def _deploy(deploy: dict[str, Any], meta: dict[str, Any], min_replicas: int, runtime: str, has_slos: bool) -> Deploy:
    argocd = deploy.get("argocd", {})
    server = argocd.get("server", "https://kubernetes.default.svc")
    rollback = deploy.get("rollback", {})
    raw_envs = deploy["environments"]
    envs = []
    case = deploy.get("case", "new-capability")
    for i, env in enumerate(raw_envs):
        production = env.get("production", i == len(raw_envs) - 1)
        strategy = effective_strategy(env, case, production, has_slos, runtime)
        steps = strategy.get("steps", DEFAULT_CANARY_STEPS) if strategy["type"] == "canary" else ()
        envs.append(Environment(
            name=env["name"],
            namespace=env.get("namespace", f"{meta['name']}-{env['name']}"),
            cluster=env.get("cluster", server),
            approval=env.get("approval", "auto"),
            production=production,
            replicas=env.get("replicas", min_replicas),
            strategy=strategy["type"],
            steps=tuple(CanaryStep(s["weight"], s.get("pause")) for s in steps),
            duration=strategy.get("duration", DEFAULT_OBSERVATION),
        ))
    gitops = deploy["gitops"]
    return Deploy(
        gitops=GitOps(gitops["repo"], gitops.get("path", "deploy"), gitops.get("branch", "main")),
        argocd=ArgoCD(argocd.get("project", f"{meta['team']}-models"), argocd.get("namespace", "argocd"), server),
        environments=tuple(envs),
        automatic_rollback=rollback.get("automatic", True),
        manual_rollback=rollback.get("manual", True),
        case=case,
    )


def _monitoring(monitoring: dict[str, Any]) -> Monitoring:
    prometheus = monitoring.get("prometheus", {})
    selector = prometheus.get("ruleSelector", {"release": "kube-prometheus-stack"})
    return Monitoring(
        prometheus_url=prometheus.get("url", "http://prometheus-operated.monitoring.svc:9090"),
        rule_selector=tuple(sorted((str(k), str(v)) for k, v in selector.items())),
        slos=tuple(SLO(
            name=slo_name(slo),
            signal=slo["signal"],
            percentile=slo.get("percentile"),
            threshold=slo["threshold"],
            window=slo.get("window", "5m"),
            for_=slo.get("for", "5m"),
            severity=slo.get("severity", "warning"),
            runbook=slo.get("runbook", ""),
            operator=slo.get("operator", "below" if slo["signal"] in BREACH_BELOW else "above"),
            query=slo.get("query", ""),
        ) for slo in monitoring.get("slos", ())),
        dashboard=monitoring.get("dashboard", True),
    )


def _thresholds(raw: dict[str, Any]) -> tuple[Threshold, ...]:
    return tuple(Threshold(metric, bounds.get("min"), bounds.get("max")) for metric, bounds in sorted(raw.items()))


def _training(training: dict[str, Any], data: dict[str, Any]) -> Training:
    name = data["metadata"]["name"]
    triggers = training["triggers"]
    trigger = triggers.get("data")
    kafka = trigger.get("kafka") if trigger else None
    checks = training["dataChecks"]
    outliers = checks.get("outliers", {})
    drift = checks.get("drift")
    evaluation = training["evaluation"]
    champion = evaluation["champion"]
    registry = training["registry"]
    aliases = registry.get("aliases", {})
    resources = training.get("resources", {})
    return Training(
        orchestrator=training.get("orchestrator", data["ci"]["targets"][0]),
        triggers=TrainingTriggers(
            schedule=triggers.get("schedule", ""),
            data=None if trigger is None else DataTrigger(
                trigger.get("objectStore", ""),
                None if kafka is None else KafkaTopic(kafka["bootstrapServers"], kafka["topic"]),
                trigger.get("airflowDataset", "")),
            alerts=tuple(triggers.get("alerts", ())),
        ),
        fetch=training.get("fetch"),
        command=training["command"],
        output_uri=training["outputUri"],
        image=training.get("image", data["ci"].get("image", data["build"]["baseImage"])),
        cpu=resources.get("cpu", "2"),
        memory=resources.get("memory", "8Gi"),
        gpu=resources.get("gpu", 0),
        timeout=training.get("timeout", "3h"),
        data_checks=DataChecks(
            path=checks["path"],
            format=checks.get("format", "csv"),
            min_rows=checks.get("minRows", 1),
            max_missing=checks.get("maxMissing", 0.05),
            columns=tuple(ColumnCheck(column, spec["type"], spec.get("maxMissing", checks.get("maxMissing", 0.05)),
                                      spec.get("min"), spec.get("max"), tuple(spec.get("allowed", ())))
                          for column, spec in sorted(checks.get("columns", {}).items())),
            outlier_z=outliers.get("zScore", 6),
            max_outlier_fraction=outliers.get("maxFraction", 0.01),
            drift=None if drift is None else DriftCheck(drift["reference"], drift.get("maxPsi", 0.2),
                                                        drift.get("bins", 10)),
        ),
        evaluation=Evaluation(
            command=evaluation["command"],
            thresholds=_thresholds(evaluation["thresholds"]),
            champion=Champion(champion["metric"], champion.get("direction", "maximize"),
                              champion.get("minImprovement", 0)),
        ),
        registry=ModelRegistry(registry.get("provider", "mlflow"), registry["trackingUri"],
                               registry.get("modelName", name), aliases.get("challenger", "challenger"),
                               aliases.get("champion", "champion")),
        airflow_namespace=training.get("airflow", {}).get("namespace", f"{name}-training"),
        dags_folder=training.get("airflow", {}).get("dagsFolder", "airflow/dags"),
    )
