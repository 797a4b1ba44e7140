"""The normalised spec: frozen, typed, every default filled in. Blueprints read only this."""

from __future__ import annotations

from generator.frozen import frozen


@frozen
class Metadata:
    name: str
    team: str
    owners: tuple[str, ...]
    description: str


@frozen
class Model:
    framework: str
    uri: str
    version: str


@frozen
class Registry:
    provider: str  # gitlab | ecr | gar | oci
    image: str  # repository, no tag
    aws_region: str = ""  # ecr
    aws_role_arn: str = ""  # ecr: assumed with the CI job's OIDC token
    gcp_provider: str = ""  # gar: workload identity provider
    gcp_service_account: str = ""  # gar

    @property
    def host(self) -> str:
        return self.image.split("/", 1)[0]


@frozen
class Build:
    base_image: str
    requirements: str
    source: str
    entrypoint: tuple[str, ...]
    registry: Registry


@frozen
class Resources:
    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str
    gpu: int


@frozen
class Autoscaling:
    min_replicas: int
    max_replicas: int
    metric: str
    target: int


@frozen
class Scheduling:
    cloud: str  # eks | gke | any
    gpu_type: str
    spot: bool
    node_selector: tuple[tuple[str, str], ...]


@frozen
class PayloadLogging:
    bootstrap_servers: str
    topic: str
    mode: str  # all | request | response


@frozen
class Serving:
    runtime: str  # kserve | seldon | bentoml
    deployment_mode: str  # serverless | raw (kserve)
    port: int
    health_path: str
    resources: Resources
    autoscaling: Autoscaling
    scheduling: Scheduling
    payload_logging: PayloadLogging | None
    runtime_key: str  # the runtime plugin's registry key (generator/runtimes): runtime and deployment mode


@frozen
class Threshold:
    metric: str
    minimum: float | None
    maximum: float | None


@frozen
class ModelValidation:
    command: str
    metrics_file: str
    thresholds: tuple[Threshold, ...]


@frozen
class Tests:
    lint: str | None
    unit: str | None
    data_validation: str | None
    model_validation: ModelValidation | None


@frozen
class Security:
    sast: bool
    dependency_scan: bool
    secret_detection: bool
    container_scan: bool
    sbom: bool
    fail_on: str  # low | medium | high | critical
    sast_rules: str = "auto"  # Semgrep's --config

    @property
    def severities(self) -> tuple[str, ...]:
        """Severities at or above fail_on, upper case as scanners spell them."""
        order = ("low", "medium", "high", "critical")
        return tuple(s.upper() for s in order[order.index(self.fail_on):])


@frozen
class JenkinsSettings:
    agent_label: str
    registry_credentials: str
    gitops_credentials: str
    mlflow_credentials: str = "mlflow-token"  # secret text, or username/password (training.registry.auth basic)
    gitlab_credentials: str = "gitlab-api-token"  # secret text: opens the retraining merge request
    argocd_credentials: str = "argocd-token"  # secret text: ARGOCD_AUTH_TOKEN of the deploy stages


@frozen
class CI:
    targets: tuple[str, ...]
    image: str
    default_branch: str
    mlopsgen_package: str
    tests: Tests
    security: Security
    jenkins: JenkinsSettings


@frozen
class CanaryStep:
    weight: int
    pause: str | None  # duration such as 10m; None on the last step

    @property
    def pause_seconds(self) -> int:
        return duration_seconds(self.pause) if self.pause else 0


@frozen
class Environment:
    name: str
    namespace: str
    cluster: str
    approval: str  # auto | manual
    production: bool
    replicas: int
    strategy: str  # rolling | canary | shadow | blueGreen
    steps: tuple[CanaryStep, ...]  # empty unless canary; the last weight is 100
    duration: str  # how long a shadow or blue-green preview is observed

    @property
    def duration_seconds(self) -> int:
        return duration_seconds(self.duration)

    @property
    def manual(self) -> bool:
        return self.approval == "manual"

    @property
    def canary_steps(self) -> tuple[CanaryStep, ...]:
        """The steps before full promotion (weight below 100)."""
        return tuple(s for s in self.steps if s.weight < 100)


@frozen
class GitOps:
    repo: str
    path: str
    branch: str


@frozen
class ArgoCD:
    project: str
    namespace: str
    server: str


@frozen
class Deploy:
    gitops: GitOps
    argocd: ArgoCD
    environments: tuple[Environment, ...]
    automatic_rollback: bool
    manual_rollback: bool
    case: str = "new-capability"


@frozen
class SLO:
    name: str
    signal: str  # see SIGNALS in the schema: latency, errorRate, throughput, ..., custom
    percentile: float | None
    threshold: float
    window: str
    for_: str
    severity: str
    runbook: str
    operator: str = "above"  # breach when the value is above (or below) the threshold
    query: str = ""  # custom signals: PromQL with $selector
    no_data: str = "fail"  # the verdict on no data or NaN in an analysis: fail | pass | inconclusive
    max_regression: float | None = None  # an analysis of one version: at most this much worse than stable


@frozen
class Monitoring:
    prometheus_url: str
    rule_selector: tuple[tuple[str, str], ...]
    slos: tuple[SLO, ...]
    dashboard: bool = True
    exporter: str = "mlopsgen"  # what the model server exports (generator/runtimes/exporters.py)


@frozen
class KafkaTopic:
    bootstrap_servers: str
    topic: str


@frozen
class DataTrigger:
    """New data starts a retraining run: exactly one of the three is set."""

    object_store: str  # s3:// or gs:// prefix; "" when unset
    kafka: KafkaTopic | None
    airflow_dataset: str  # an Airflow Asset (Dataset) URI; "" when unset

    @property
    def kind(self) -> str:
        return "objectStore" if self.object_store else "kafka" if self.kafka else "airflowDataset"

    @property
    def asset_uri(self) -> str:
        """The Airflow Asset this trigger is known by."""
        if self.object_store:
            return self.object_store
        if self.kafka:
            return f"kafka://{self.kafka.bootstrap_servers.split(',')[0]}/{self.kafka.topic}"
        return self.airflow_dataset


@frozen
class TrainingTriggers:
    schedule: str  # cron, UTC; "" when unset
    data: DataTrigger | None
    alerts: tuple[str, ...]  # names of monitoring SLOs whose alert starts a run


@frozen
class ColumnCheck:
    name: str
    type: str  # number | integer | string | boolean
    max_missing: float  # fraction of rows that may be empty
    minimum: float | None
    maximum: float | None
    allowed: tuple[str, ...]  # strings: the only values allowed; empty = any


@frozen
class DriftCheck:
    reference: str  # path of the reference data set (same format)
    max_psi: float  # population stability index per numeric column
    bins: int


@frozen
class DataChecks:
    """Run by `mlopsgen data-check` before training; any failure (or unreadable data) stops the run."""

    path: str  # the training data, local to the job once fetched
    format: str  # csv | jsonl | parquet
    min_rows: int
    max_missing: float  # default for columns not listed
    columns: tuple[ColumnCheck, ...]
    outlier_z: float  # |z| above this is an outlier
    max_outlier_fraction: float
    drift: DriftCheck | None


@frozen
class Champion:
    """The retrained model must beat the production model on this metric, on the same data."""

    metric: str
    direction: str  # maximize | minimize
    min_improvement: float  # absolute difference in the metric


@frozen
class Evaluation:
    command: str  # reads $MODEL_URI, writes the metrics JSON object to $METRICS_FILE
    thresholds: tuple[Threshold, ...]
    champion: Champion


@frozen
class ModelRegistry:
    provider: str  # mlflow
    tracking_uri: str
    model_name: str
    challenger_alias: str
    champion_alias: str
    auth: str = "token"  # token: MLFLOW_TRACKING_TOKEN | basic: MLFLOW_TRACKING_USERNAME/PASSWORD


@frozen
class Training:
    orchestrator: str  # gitlab | jenkins | airflow
    triggers: TrainingTriggers
    fetch: str | None  # command that puts the training data at data_checks.path
    command: str  # trains; writes the model to $MODEL_OUTPUT_URI
    output_uri: str  # where a run's model goes; the run id is appended
    image: str
    cpu: str
    memory: str
    gpu: int
    timeout: str  # duration such as 4h
    data_checks: DataChecks
    evaluation: Evaluation
    registry: ModelRegistry
    airflow_namespace: str  # Kubernetes namespace of the Airflow training pods
    dags_folder: str  # where the Airflow DAG file goes

    @property
    def timeout_seconds(self) -> int:
        return duration_seconds(self.timeout)


Version = tuple[int, int]  # major, minor


def version_text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


@frozen
class Platform:
    """The cluster the manifests are for (schema: platform): the version of each piece by its name
    there (kubernetes, argocd, argoRollouts, knative, and each runtime's controller) and the Knative
    flags enabled. What a version or flag changes is the knowledge of the module that renders for it
    (generator/runtimes/)."""

    versions: tuple[tuple[str, Version], ...]
    knative_features: frozenset[str]  # flags enabled in Knative's config-features

    def version(self, name: str) -> Version:
        return dict(self.versions)[name]


@frozen
class Spec:
    """The whole normalised spec, plus where it came from."""

    source: str  # the spec's path relative to the output directory, posix style
    digest: str  # sha256 of the canonical spec data
    metadata: Metadata
    model: Model
    build: Build
    serving: Serving
    ci: CI
    deploy: Deploy
    monitoring: Monitoring
    platform: Platform
    training: Training | None = None

    @property
    def name(self) -> str:
        return self.metadata.name

    def environment(self, name: str) -> Environment:
        for env in self.deploy.environments:
            if env.name == name:
                return env
        raise KeyError(name)


def duration_seconds(text: str) -> int:
    return int(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]
