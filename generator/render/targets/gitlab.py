"""GitLab CI: .gitlab-ci.yml with MR/default-branch/tag/schedule workflow and a needs DAG."""

from __future__ import annotations

from dataclasses import dataclass

from generator.artifacts import PlannedArtifact, Syntax
from generator.model import Spec
from generator.render.targets.names import UniqueNames
from generator.render.targets.registries import registry_login
from generator.render.targets.stages import DeployStage, SourceScan, deploy_stages, source_scans

# Top-level keys GitLab reads as configuration, not as jobs, and the templates the blueprints extend.
GITLAB_KEYWORDS = ("default", "include", "stages", "variables", "workflow", "image", "services", "cache",
                   "before_script", "after_script", "spec")
TEMPLATES = (".delivery", ".python", ".mlopsgen", ".retrain")

# role -> (job name, what the job does); the fields of GitLabJobs
FIXED_JOBS = {
    "check": ("mlopsgen-check", "the drift check"),
    "sync": ("mlopsgen-sync", "the regeneration merge request"),
    "model_registered": ("model-registered", "the model registry check"),
    "lint": ("lint", "ci.tests.lint"),
    "unit_tests": ("unit-tests", "ci.tests.unit"),
    "data_validation": ("data-validation", "ci.tests.dataValidation"),
    "model_validation": ("model-validation", "ci.tests.modelValidation"),
    "build_image": ("build-image", "the image build"),
    "container_scan": ("container-scan", "ci.security.containerScan"),
    "sbom": ("sbom", "ci.security.sbom"),
    "retrain_data_checks": ("retrain-data-checks", "training.dataChecks"),
    "retrain_train": ("retrain-train", "training.command"),
    "retrain_evaluate": ("retrain-evaluate", "training.evaluation"),
    "retrain_register": ("retrain-register", "the retrained model's registration"),
    "retrain_propose": ("retrain-propose", "the retrained model's merge request"),
    "registry_champion": ("registry-champion", "moving the registry's champion alias"),
}
FIXED_STAGES = {  # role -> stage name, in pipeline order (the retrain-* ones only run with GitLab CT)
    "validate": "validate", "test": "test", "security": "security", "build": "build", "scan": "scan",
    "retrain_data": "retrain-data", "retrain": "retrain", "retrain_evaluate": "retrain-evaluate",
    "retrain_register": "retrain-register", "retrain_propose": "retrain-propose",
}


@dataclass(frozen=True)
class GitLabJobs:
    """The names of the jobs every pipeline can hold (claimed whether or not the spec turns them on)."""

    check: str
    sync: str
    model_registered: str
    lint: str
    unit_tests: str
    data_validation: str
    model_validation: str
    build_image: str
    container_scan: str
    sbom: str
    retrain_data_checks: str
    retrain_train: str
    retrain_evaluate: str
    retrain_register: str
    retrain_propose: str
    registry_champion: str  # once, after the last production environment (DeployStage.moves_champion)


@dataclass(frozen=True)
class GitLabStages:
    validate: str
    test: str
    security: str
    build: str
    scan: str
    retrain_data: str
    retrain: str
    retrain_evaluate: str
    retrain_register: str
    retrain_propose: str


@dataclass(frozen=True)
class GitLabDeploy:
    """One environment's part of .gitlab-ci.yml: its steps (DeployJob.name names each job) and the
    names around them."""

    deploy: DeployStage
    stage: str  # its GitLab stage, also the resource group serialising its jobs
    rollback: str  # the manual rollback job (rendered with deploy.manualRollback)
    auto_rollback: str  # the rollback on failure (rendered with deploy.automaticRollback)


@dataclass(frozen=True)
class GitLabNames:
    jobs: GitLabJobs
    stages: GitLabStages
    deploys: tuple[GitLabDeploy, ...]


def gitlab_names(deploys: list[DeployStage], scans: list[SourceScan]) -> GitLabNames:
    """Every job and stage name of .gitlab-ci.yml, each claimed once (a clash fails here, at plan time)."""
    jobs, stages = UniqueNames(".gitlab-ci.yml job"), UniqueNames(".gitlab-ci.yml stage")
    jobs.reserve(GITLAB_KEYWORDS, "a GitLab CI keyword")
    jobs.reserve(TEMPLATES, "a job template")
    fixed = GitLabJobs(**{role: jobs.claim(name, what) for role, (name, what) in FIXED_JOBS.items()})
    fixed_stages = GitLabStages(**{role: stages.claim(name, f"the {name} stage")
                                   for role, name in FIXED_STAGES.items()})
    for scan in scans:
        jobs.claim(scan.job, f"the {scan.title} scan")
    named = []
    for d in deploys:
        env = d.env.name
        for job in d.jobs:
            jobs.claim(job.name, f"the {job.label!r} step of environment {env!r}")
        named.append(GitLabDeploy(
            d, stages.claim(f"deploy-{env}", f"environment {env!r}"),
            jobs.claim(f"rollback-{env}", f"the manual rollback of environment {env!r}"),
            jobs.claim(f"auto-rollback-{env}", f"the automatic rollback of environment {env!r}")))
    return GitLabNames(fixed, fixed_stages, tuple(named))


@dataclass(frozen=True)
class GitLabCI:
    name: str = "gitlab"

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        if "gitlab" not in spec.ci.targets:
            return []
        scans = source_scans(spec)
        names = gitlab_names(deploy_stages(spec), scans)
        jobs, tests = names.jobs, spec.ci.tests
        gate_needs = [job for job, on in ((jobs.unit_tests, tests.unit), (jobs.data_validation, tests.data_validation))
                      if on]
        build_needs = [job for job, on in ((jobs.check, True), (jobs.lint, tests.lint),
                                           (jobs.model_validation, tests.model_validation),
                                           (jobs.unit_tests, tests.unit and not tests.model_validation),
                                           (jobs.data_validation, tests.data_validation and not tests.model_validation))
                       if on]
        ct = spec.training is not None and spec.training.orchestrator == "gitlab"
        if spec.training is not None:  # the deploy never references a model version the registry lacks
            build_needs.append(jobs.model_registered)
        context = {"deploys": names.deploys, "jobs": jobs, "stages": names.stages, "start_in": start_in,
                   "gate_needs": gate_needs, "ct": ct,
                   "delivery_only": '$MLOPSGEN_PIPELINE != "retrain"' if ct else '$CI_PIPELINE_SOURCE != "schedule"',
                   "build_needs": build_needs, "scans": scans,
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

