"""The `platform` section: mlopsgen renders only what the declared cluster accepts and refuses, before
writing anything, a spec the cluster could not run (generator/runtimes/kserve.py and seldon.py cite
the upstream source of each fact)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CliResult, Project, copy_example, edit_text

IMAGE_QUALITY_PLATFORM = """platform:
  kserve: "0.15"
  knative:
    features: [kubernetes.podspec-nodeselector, kubernetes.podspec-tolerations]
"""


def with_platform(project: Project, block: str) -> Project:
    with project.spec.open("a", encoding="utf-8") as spec:
        spec.write("platform:\n" + block)
    return project


def rendered(project: Project, cli: Callable[..., CliResult], name: str) -> dict[str, Any]:
    result = cli("render", project.spec, "--out", project.out)
    assert result.code == 0, result.text
    [path] = project.out.rglob(name)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def refused(project: Project, cli: Callable[..., CliResult]) -> list[dict[str, Any]]:
    result = cli("render", project.spec, "--out", project.out, "--format", "json")
    assert result.code == 1, result.text
    assert not project.out.exists(), "nothing may be written for a spec the platform cannot run"
    return list(json.loads(result.out)["problems"])


@pytest.mark.parametrize(("example", "kserve", "mode"), [
    ("fraud-detector", "0.15", "Serverless"), ("fraud-detector", "0.16", "Knative"),
    ("recsys-ranker", "0.15", "RawDeployment"), ("recsys-ranker", "0.20", "Standard")])
def test_the_deployment_mode_annotation_uses_the_names_of_the_kserve_version(
        tmp_path: Path, cli: Callable[..., CliResult], example: str, kserve: str, mode: str) -> None:
    project = with_platform(copy_example(tmp_path, example), f"  kserve: \"{kserve}\"\n")
    isvc = rendered(project, cli, "inferenceservice.yaml")
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == mode


def test_the_default_platform_is_a_current_kserve() -> None:
    root = Path(__file__).resolve().parent.parent / "examples"
    isvc = yaml.safe_load((root / "fraud-detector/rendered/apps/fraud-detector/base/inferenceservice.yaml").read_text())
    assert isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Knative"


@pytest.mark.parametrize(("features", "missing"), [
    ("[]", ["kubernetes.podspec-nodeselector", "kubernetes.podspec-tolerations"]),
    ("[kubernetes.podspec-nodeselector]", ["kubernetes.podspec-tolerations"]),
    ("[kubernetes.podspec-tolerations]", ["kubernetes.podspec-nodeselector"])])
def test_placement_on_serverless_needs_the_knative_flags(
        tmp_path: Path, cli: Callable[..., CliResult], features: str, missing: list[str]) -> None:
    project = copy_example(tmp_path, "image-quality")  # a GPU pool on GKE: nodeSelector and tolerations
    edit_text(project.spec, IMAGE_QUALITY_PLATFORM, f"platform:\n  knative:\n    features: {features}\n")
    problems = refused(project, cli)
    assert [flag for p in problems for flag in missing if flag in p["message"]] == missing
    for problem in problems:
        assert problem["path"] == "serving.scheduling" and problem["line"] == 29
        assert "platform.knative.features" in problem["hint"]


def test_placement_on_serverless_renders_where_the_flags_are_declared(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    isvc = rendered(copy_example(tmp_path, "image-quality"), cli, "inferenceservice.yaml")
    predictor = isvc["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert [t["key"] for t in predictor["tolerations"]] == ["nvidia.com/gpu"]
    assert "topologySpreadConstraints" not in predictor  # its flag is not declared


def test_placement_in_raw_mode_needs_no_knative_flag(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    project = copy_example(tmp_path, "image-quality")
    edit_text(project.spec, IMAGE_QUALITY_PLATFORM, "")
    edit_text(project.spec, "  runtime: kserve\n", "  runtime: kserve\n  deploymentMode: raw\n")
    edit_text(project.spec, "strategy: {type: blueGreen, duration: 30m}", "strategy: {type: rolling}")
    edit_text(project.spec, "minReplicas: 0,", "minReplicas: 1,")  # raw mode does not scale to zero
    predictor = rendered(project, cli, "inferenceservice.yaml")["spec"]["predictor"]
    assert predictor["nodeSelector"] and predictor["tolerations"] and predictor["topologySpreadConstraints"]


@pytest.mark.parametrize(("example", "block", "field", "words"), [
    ("fraud-detector", '  kubernetes: "1.22"\n', "platform.kubernetes", "1.23"),
    ("fraud-detector", '  kserve: "0.11"\n', "platform.kserve", "0.12"),
    ("fraud-detector", '  argocd: "2.7"\n', "platform.argocd", "health check"),
    ("recsys-ranker", '  argoRollouts: "1.6"\n', "platform.argoRollouts", "scaleDown"),
    ("claims-triage", '  seldon: "2.8"\n', "platform.seldon", "Seldon Core 2"),
])
def test_a_platform_that_cannot_run_the_spec_is_refused_at_its_field(
        tmp_path: Path, cli: Callable[..., CliResult], example: str, block: str, field: str, words: str) -> None:
    project = copy_example(tmp_path, example)
    last_line = len(project.spec.read_text(encoding="utf-8").splitlines())
    [problem] = refused(with_platform(project, block), cli)
    assert problem["path"] == field and words in problem["message"] and problem["hint"]
    assert problem["line"] == last_line + 2  # at the version, under the appended `platform:`


def test_argo_cd_before_2_8_is_fine_without_kserve(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    project = with_platform(copy_example(tmp_path, "claims-triage"), '  argocd: "2.7"\n')
    assert cli("validate", project.spec).code == 0


def test_a_malformed_version_is_a_schema_error(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    [problem] = refused(with_platform(copy_example(tmp_path, "fraud-detector"), "  kserve: v0.15\n"), cli)
    assert problem["path"] == "platform.kserve"
