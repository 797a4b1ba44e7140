"""Raw, valid spec data → the frozen typed model, with every default filled in.

The schema's defaults are filled in first (generator/spec/defaults.py), so this module reads keys;
the `.get`s left are optional fields whose absence the model keeps (None, "" or empty), and the
defaults that depend on other fields (defaults.DERIVED_DEFAULTS).
"""

from __future__ import annotations

import hashlib
import json
import re
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
    Platform,
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
    Version,
)
from generator.runtimes import default_exporter, modes, runtime_named
from generator.spec.defaults import schema_default, with_defaults
from generator.spec.strategies import effective_strategy, runtime_key
from generator.spec.validation import spec_schema

# Signals that fail when they drop: too little traffic or data is the problem.
BREACH_BELOW = ("throughput", "inputVolume")
# no data passes by default: a new model has no day of history, a first canary no stable baseline
NO_HISTORY_PASSES = ("scoreShift",)


def _strategy_defaults() -> dict[str, Any]:
    """The schema's strategy defaults, for a strategy normalise chose (the spec held none to fill)."""
    return {field: schema_default(spec_schema(), f"deploy.environments[].strategy.{field}")
            for field in ("steps", "duration")}


def slo_name(slo: dict[str, Any]) -> str:
    """An SLO's name: its `name`, else its signal's (errorRate -> error-rate, latency -> p99-latency)."""
    if "name" in slo:
        return str(slo["name"])
    if slo["signal"] == "latency":
        return f"p{slo['percentile']:g}-latency".replace(".", "-")
    return re.sub(r"(?<!^)([A-Z])", r"-\1", str(slo["signal"])).lower()


def spec_digest(data: Any) -> str:
    """sha256 of the spec's data, not its bytes: comments, layout and line endings do not count."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def normalise(raw: dict[str, Any], source: str) -> Spec:
    data = with_defaults(raw, spec_schema())
    meta = data["metadata"]
    build = data["build"]
    serving = data["serving"]
    ci = data["ci"]
    return Spec(
        source=source,
        digest=spec_digest(raw),
        metadata=Metadata(meta["name"], meta["team"], tuple(meta.get("owners", ())), meta.get("description", "")),
        model=Model(**{k: str(v) for k, v in data["model"].items()}),
        build=Build(
            base_image=build["baseImage"],
            requirements=build["requirements"],
            source=build["source"],
            entrypoint=tuple(build.get("entrypoint", ("python", "-m", meta["name"].replace("-", "_") + ".serve"))),
            registry=_registry(build["registry"]),
        ),
        serving=_serving(serving),
        ci=_ci(ci, build["baseImage"]),
        deploy=_deploy(data["deploy"], meta, serving["autoscaling"],
                       runtime_key(raw["serving"]), bool(data["monitoring"].get("slos"))),
        monitoring=_monitoring(data["monitoring"], default_exporter(runtime_named(runtime_key(raw["serving"])))),
        platform=_platform(data["platform"]),
        training=_training(data["training"], data) if "training" in data else None,
    )


def _version(text: str) -> Version:
    major, minor = text.split(".")
    return int(major), int(minor)


def _platform(platform: dict[str, Any]) -> Platform:
    knative = platform["knative"]
    versions = {name: _version(value) for name, value in platform.items() if isinstance(value, str)}
    versions["knative"] = _version(knative["version"])
    return Platform(tuple(sorted(versions.items())), frozenset(knative["features"]))


def _registry(registry: dict[str, Any]) -> Registry:
    aws, gcp = registry.get("aws", {}), registry.get("gcp", {})  # only with provider ecr / gar
    return Registry(registry["provider"], registry["image"], aws.get("region", ""),
                    aws.get("roleArn", ""), gcp.get("workloadIdentityProvider", ""), gcp.get("serviceAccount", ""))


def _serving(serving: dict[str, Any]) -> Serving:
    res = serving["resources"]
    scaling = serving["autoscaling"]
    cpu, memory = res["cpu"], res["memory"]
    scheduling = serving["scheduling"]
    logging = serving.get("payloadLogging")
    return Serving(
        runtime=serving["runtime"],
        deployment_mode=serving["deploymentMode"] if modes(serving["runtime"]) else "",
        runtime_key=runtime_key(serving),
        port=serving["port"],
        health_path=serving["healthPath"],
        resources=Resources(cpu, memory, res.get("cpuLimit", cpu), res.get("memoryLimit", memory), res["gpu"]),
        autoscaling=Autoscaling(scaling["minReplicas"], scaling["maxReplicas"], scaling["metric"], scaling["target"]),
        scheduling=Scheduling(scheduling["cloud"], scheduling.get("gpuType", ""), scheduling["spot"],
                              tuple(sorted((str(k), str(v)) for k, v in scheduling.get("nodeSelector", {}).items()))),
        payload_logging=None if logging is None else PayloadLogging(logging["bootstrapServers"], logging["topic"],
                                                                    logging["mode"]),
    )


def _ci(ci: dict[str, Any], base_image: str) -> CI:
    tests = ci.get("tests", {})  # no defaults: each test absent is a job not rendered
    gate = tests.get("modelValidation")
    security = ci["security"]
    agent = ci["jenkins"]
    credentials = agent["credentials"]
    return CI(
        targets=tuple(ci["targets"]),  # the schema's enum is the CI target registry (tests/test_plugins.py)
        image=ci.get("image", base_image),
        default_branch=ci["defaultBranch"],
        mlopsgen_package=ci.get("mlopsgenPackage", f"mlopsgen=={__version__}"),
        tests=Tests(
            lint=tests.get("lint"),
            unit=tests.get("unit"),
            data_validation=tests.get("dataValidation"),
            model_validation=None if gate is None else ModelValidation(
                command=gate["command"],
                metrics_file=gate["metricsFile"],
                thresholds=_thresholds(gate["thresholds"]),
            ),
        ),
        security=Security(
            sast=security["sast"],
            dependency_scan=security["dependencyScan"],
            secret_detection=security["secretDetection"],
            container_scan=security["containerScan"],
            sbom=security["sbom"],
            fail_on=security["failOn"],
            sast_rules=security["sastRules"],
        ),
        jenkins=JenkinsSettings(agent["agentLabel"], credentials["registry"], credentials["gitops"],
                                credentials["mlflow"], credentials["gitlab"], credentials["argocd"]),
    )


# production keeps serving through a node drain or a lost node: at least this many replicas, unless
# the environment sets fewer itself (rules.rule_warnings then warns) or maxReplicas forbids it
PRODUCTION_REPLICAS = 2


def _replicas(env: dict[str, Any], autoscaling: dict[str, Any], production: bool) -> int:
    if "replicas" in env:
        return int(env["replicas"])
    low = int(autoscaling["minReplicas"])
    return max(low, min(PRODUCTION_REPLICAS, int(autoscaling["maxReplicas"]))) if production else low


def _deploy(deploy: dict[str, Any], meta: dict[str, Any], autoscaling: dict[str, Any], runtime: str,
            has_slos: bool) -> Deploy:
    argocd = deploy["argocd"]
    server = argocd["server"]
    rollback = deploy["rollback"]
    raw_envs = deploy["environments"]
    envs = []
    case = deploy["case"]
    for i, env in enumerate(raw_envs):
        production = env.get("production", i == len(raw_envs) - 1)
        # a strategy normalise chose has none of the schema's strategy defaults filled in: add them
        strategy = {**_strategy_defaults(), **effective_strategy(env, case, production, has_slos, runtime)}
        steps = strategy["steps"] if strategy["type"] == "canary" else ()
        envs.append(Environment(
            name=env["name"],
            namespace=env.get("namespace", f"{meta['name']}-{env['name']}"),
            cluster=env.get("cluster", server),
            approval=env["approval"],
            production=production,
            replicas=_replicas(env, autoscaling, production),
            strategy=strategy["type"],
            steps=tuple(CanaryStep(s["weight"], s.get("pause")) for s in steps),
            duration=strategy["duration"],
        ))
    gitops = deploy["gitops"]
    return Deploy(
        gitops=GitOps(gitops["repo"], gitops["path"], gitops["branch"]),
        argocd=ArgoCD(argocd.get("project", f"{meta['team']}-models"), argocd["namespace"], server),
        environments=tuple(envs),
        automatic_rollback=rollback["automatic"],
        manual_rollback=rollback["manual"],
        case=case,
    )


def _monitoring(monitoring: dict[str, Any], default_exporter: str) -> Monitoring:
    prometheus = monitoring["prometheus"]
    selector = prometheus["ruleSelector"]
    return Monitoring(
        prometheus_url=prometheus["url"],
        rule_selector=tuple(sorted((str(k), str(v)) for k, v in selector.items())),
        slos=tuple(SLO(
            name=slo_name(slo),
            signal=slo["signal"],
            percentile=slo.get("percentile"),
            threshold=slo["threshold"],
            window=slo["window"],
            for_=slo["for"],
            severity=slo["severity"],
            runbook=slo.get("runbook", ""),
            operator=slo.get("operator", "below" if slo["signal"] in BREACH_BELOW else "above"),
            query=slo.get("query", ""),
            no_data=slo.get("noData", "pass" if slo["signal"] in NO_HISTORY_PASSES else "fail"),
            max_regression=slo.get("maxRegression"),
        ) for slo in monitoring.get("slos", ())),
        dashboard=monitoring["dashboard"],
        exporter=monitoring.get("exporter", default_exporter),
    )


def _thresholds(raw: dict[str, Any]) -> tuple[Threshold, ...]:
    return tuple(Threshold(metric, bounds.get("min"), bounds.get("max")) for metric, bounds in sorted(raw.items()))


def _training(training: dict[str, Any], data: dict[str, Any]) -> Training:
    name = data["metadata"]["name"]
    triggers = training["triggers"]
    trigger = triggers.get("data")
    kafka = trigger.get("kafka") if trigger else None
    checks = training["dataChecks"]
    outliers = checks["outliers"]
    drift = checks.get("drift")
    evaluation = training["evaluation"]
    champion = evaluation["champion"]
    registry = training["registry"]
    aliases = registry["aliases"]
    resources = training["resources"]
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
        cpu=resources["cpu"],
        memory=resources["memory"],
        gpu=resources["gpu"],
        timeout=training["timeout"],
        data_checks=DataChecks(
            path=checks["path"],
            format=checks["format"],
            min_rows=checks["minRows"],
            max_missing=checks["maxMissing"],
            columns=tuple(ColumnCheck(column, spec["type"], spec.get("maxMissing", checks["maxMissing"]),
                                      spec.get("min"), spec.get("max"), tuple(spec.get("allowed", ())))
                          for column, spec in sorted(checks.get("columns", {}).items())),
            outlier_z=outliers["zScore"],
            max_outlier_fraction=outliers["maxFraction"],
            drift=None if drift is None else DriftCheck(drift["reference"], drift["maxPsi"], drift["bins"]),
        ),
        evaluation=Evaluation(
            command=evaluation["command"],
            thresholds=_thresholds(evaluation["thresholds"]),
            champion=Champion(champion["metric"], champion["direction"], champion["minImprovement"]),
        ),
        registry=ModelRegistry(registry["provider"], registry["trackingUri"], registry.get("modelName", name),
                               aliases["challenger"], aliases["champion"], registry["auth"]),
        airflow_namespace=training["airflow"].get("namespace", f"{name}-training"),
        dags_folder=training["airflow"]["dagsFolder"],
    )
