"""Jenkins: a declarative Jenkinsfile with the same stages as the GitLab pipeline, and a second
one for continuous training when the spec's training runs on Jenkins."""

from __future__ import annotations

from dataclasses import dataclass

from generator.artifacts import PlannedArtifact, Syntax
from generator.model import Spec
from generator.render.targets.names import UniqueNames
from generator.render.targets.registries import registry_login
from generator.render.targets.stages import DeployStage, SourceScan, deploy_stages, source_scans

RETRAIN_SCRIPT_PATH = "Jenkinsfile.retrain"

# role -> stage name; the fields of JenkinsStages and RetrainStages
FIXED_STAGES = {
    "set_up": "Set up", "drift_check": "Drift check", "lint": "Lint", "tests": "Tests", "unit_tests": "Unit tests",
    "data_validation": "Data validation", "model_validation": "Model validation", "security": "Security",
    "model_registered": "Model registered", "build_image": "Build image", "scan_image": "Scan image",
    "champion": "Registry champion",
}
RETRAIN_STAGES = {"set_up": "Set up", "data_checks": "Data checks", "train": "Train", "evaluate": "Evaluate",
                  "register": "Register", "propose": "Propose"}


@dataclass(frozen=True)
class JenkinsStages:
    """The names of the stages every Jenkinsfile can hold (claimed whether or not the spec turns them on)."""

    set_up: str
    drift_check: str
    lint: str
    tests: str
    unit_tests: str
    data_validation: str
    model_validation: str
    security: str
    model_registered: str
    build_image: str
    scan_image: str
    champion: str  # once, right after the last production environment's stage (DeployStage.moves_champion)


@dataclass(frozen=True)
class RetrainStages:
    set_up: str
    data_checks: str
    train: str
    evaluate: str
    register: str
    propose: str


@dataclass(frozen=True)
class JenkinsDeploy:
    deploy: DeployStage
    stage: str  # the stage deploying to this environment


def jenkins_names(deploys: list[DeployStage], scans: list[SourceScan]) -> tuple[JenkinsStages, list[JenkinsDeploy]]:
    """Every stage name of the Jenkinsfile, each claimed once: Jenkins refuses two stages of one name,
    parallel ones included, so a clash fails here, at plan time."""
    names = UniqueNames("Jenkinsfile stage")
    fixed = JenkinsStages(**{role: names.claim(name, f"the {name!r} stage") for role, name in FIXED_STAGES.items()})
    for scan in scans:
        names.claim(scan.title, f"the {scan.title} scan")
    named = [JenkinsDeploy(d, names.claim(f"Deploy {d.env.name}", f"environment {d.env.name!r}")) for d in deploys]
    return fixed, named


def retrain_names() -> RetrainStages:
    names = UniqueNames(f"{RETRAIN_SCRIPT_PATH} stage")
    return RetrainStages(**{role: names.claim(name, f"the {name!r} stage") for role, name in RETRAIN_STAGES.items()})


@dataclass(frozen=True)
class Jenkins:
    name: str = "jenkins"

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        if "jenkins" not in spec.ci.targets:
            return []
        scans = source_scans(spec)
        stages, deploys = jenkins_names(deploy_stages(spec), scans)
        context = {"deploys": deploys, "stages": stages, "scans": scans, "registry_login": registry_login(spec)}
        planned = [PlannedArtifact("Jenkinsfile", "jenkins/Jenkinsfile.j2", Syntax.JENKINSFILE, "ci", context)]
        if spec.training is not None and spec.training.orchestrator == "jenkins":
            planned.append(PlannedArtifact(RETRAIN_SCRIPT_PATH, "jenkins/Jenkinsfile.retrain.j2", Syntax.JENKINSFILE,
                                           "training", {"stages": retrain_names()}))
        return planned
