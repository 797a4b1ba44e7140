"""Unit tests per stage: loader, normalise, plan, rendering filters, verify."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import FRAUD_FILES

from generator.artifacts import RenderedFile, Syntax, body_digest_of, read_marker
from generator.errors import SpecError, VerificationError
from generator.render.engine import build
from generator.render.plan import plan
from generator.render.rendering import groovy_string, shell_word, yaml_scalar
from generator.render.verify import verify
from generator.spec.intake import load_valid_spec
from generator.spec.loader import Position, load_spec, parse_spec
from generator.spec.normalise import normalise, spec_digest

REPO = Path(__file__).resolve().parent.parent
FRAUD = REPO / "examples/fraud-detector/mlops.yaml"
MINIMAL = REPO / "tests/specs/valid/minimal.yaml"


# ------------------------------------------------------------------------------------------ load

def test_loader_keeps_positions_of_keys_and_values() -> None:
    loaded = load_spec(FRAUD)
    assert loaded.position(("deploy", "environments", 1, "strategy", "steps", 0, "weight")) == Position(70, 22)
    assert loaded.position(("serving", "resources", "cpu"), key=True).column == 5
    # a path that does not exist points at its nearest ancestor
    assert loaded.position(("serving", "nothing", "here")) == loaded.position(("serving",))


def test_loader_reports_every_duplicate_key() -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(b"a: 1\nb: {c: 1, c: 2}\na: 3\n", "s.yaml", Path("s.yaml"))
    assert [(p.line, p.path) for p in caught.value.problems] == [(2, "b.c"), (3, "a")]


def test_loader_accepts_a_utf8_bom() -> None:
    assert parse_spec("\ufeffa: 1\n".encode(), "s.yaml", Path("s.yaml")).data == {"a": 1}


# ------------------------------------------------------------------------------------- normalise

def test_normalise_fills_defaults() -> None:
    spec = normalise(load_valid_spec(MINIMAL).data, "mlops.yaml")
    assert spec.serving.port == 8080
    assert spec.serving.resources.cpu_limit == spec.serving.resources.cpu == "500m"
    assert spec.ci.image == spec.build.base_image
    assert spec.deploy.argocd.project == "ds-models"
    (prod,) = spec.deploy.environments
    assert (prod.namespace, prod.production, prod.strategy, prod.steps) == ("tiny-model-prod", True, "rolling", ())
    assert spec.build.entrypoint == ("python", "-m", "tiny_model.serve")


def test_normalise_defaults_canary_steps_and_marks_only_last_env_production() -> None:
    data = load_valid_spec(FRAUD).data
    data["deploy"]["environments"][1]["strategy"] = {"type": "canary"}
    spec = normalise(data, "mlops.yaml")
    staging, production = spec.deploy.environments
    assert [s.weight for s in production.steps] == [10, 50, 100]
    assert [s.weight for s in production.canary_steps] == [10, 50]
    assert (staging.production, production.production) == (False, True)


def test_digest_ignores_layout_and_comments() -> None:
    a = yaml.safe_load("a: 1\nb: [1, 2]\n")
    b = yaml.safe_load("# comment\nb: [1,   2]\na: 1\n")
    assert spec_digest(a) == spec_digest(b)


def test_security_severities_are_the_threshold_and_above() -> None:
    spec = normalise(load_valid_spec(FRAUD).data, "mlops.yaml")
    assert spec.ci.security.severities == ("HIGH", "CRITICAL")


# ------------------------------------------------------------------------------------------ plan

def test_plan_lists_each_target_once_and_only_asked_ci_targets() -> None:
    spec = normalise(load_valid_spec(FRAUD).data, "mlops.yaml")
    paths = [a.path for a in plan(spec)]
    assert ".gitlab-ci.yml" in paths and "Jenkinsfile" not in paths
    assert len(paths) == len(set(paths)) == FRAUD_FILES - 1  # all but the manifest
    assert [a.path for a in plan(spec) if a.seed] == [
        f"apps/fraud-detector/overlays/{env}/{name}" for env in ("production", "staging")
        for name in ("release-history.yaml", "release.yaml")]


# -------------------------------------------------------------------------------------- filters

@pytest.mark.parametrize("value", ["plain", "a: b", "- x", "'q' \"d\"", "line\nnext", "#c", "", "yes", "1.0",
                                   "~", "null", "😀", "\\u0041", "{a: b}", "*x &y !t"])
def test_yaml_scalar_round_trips(value: str) -> None:
    assert yaml.safe_load(f"k: {yaml_scalar(value)}") == {"k": value}


def test_groovy_string_escapes_quotes_backslashes_and_newlines() -> None:
    assert groovy_string("it's a \\ test\n${x}") == "'it\\'s a \\\\ test\\n${x}'"


def test_groovy_string_refuses_control_characters() -> None:
    with pytest.raises(ValueError):
        groovy_string("bell\x07")


def test_shell_word_quotes() -> None:
    assert shell_word("a b'c") == "'a b'\"'\"'c'"


# ---------------------------------------------------------------------------------------- marker

def test_marker_round_trip_and_body_digest(tmp_path: Path) -> None:
    result = build(FRAUD, tmp_path)
    gitlab = next(f for f in result.files if f.path == ".gitlab-ci.yml")
    marker = read_marker(gitlab.content)
    assert marker is not None and marker.version and marker.source.endswith("mlops.yaml")
    assert marker.body_digest == body_digest_of(gitlab.content)
    script = next(f for f in result.files if f.path == "ci/mlopsgen-release.sh")
    assert script.content.startswith("#!/usr/bin/env bash\n# Generated by mlopsgen")
    assert read_marker(script.content) is not None


# ---------------------------------------------------------------------------------------- verify

def _one(path: str, content: str, syntax: Syntax) -> list[RenderedFile]:
    return [RenderedFile(path, content, syntax, "test.origin")]


@pytest.mark.parametrize(("files", "message"), [
    (_one(".gitlab-ci.yml", "stages: [test]\njob:\n  stage: test\n  script: [x]\n  artefacts: {}\n", Syntax.GITLAB_CI),
     "GitLab CI schema"),
    (_one(".gitlab-ci.yml", "stages: [test]\njob:\n  stage: test\n  script: [x]\n  needs: [nope]\n", Syntax.GITLAB_CI),
     "job 'job' needs 'nope', which does not exist"),
    (_one(".gitlab-ci.yml", "stages: [test]\njob:\n  stage: deploy\n  script: [x]\n", Syntax.GITLAB_CI),
     "uses stage 'deploy', which is not in stages"),
    (_one("a.yaml", "a: 1\na: 2\n", Syntax.YAML), "duplicate key 'a'"),
    (_one("a.yaml", "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: x}\n"
                    "spec: {predictor: {canaryTrafficPercent: '10%'}}\n", Syntax.YAML), "is not of type 'integer'"),
    (_one("a.yaml", "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {label: {}}\n"
                    "spec: {}\n", Syntax.YAML), "metadata"),
    (_one("a.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Rolout\nmetadata: {name: x}\n", Syntax.YAML),
     "no schema for argoproj.io/v1alpha1 Rolout"),
    (_one("k/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                                  "resources: [missing.yaml]\n", Syntax.YAML), "refers to 'missing.yaml'"),
    (_one("Jenkinsfile", "pipeline {\n  stages {\n    stage('x') { steps { sh 'y' }\n  }\n", Syntax.JENKINSFILE),
     "is never closed"),
    (_one("Dockerfile", "FROM python\nRUN true\n", Syntax.DOCKERFILE), "base image is not pinned"),
    (_one("Dockerfile", "FROM python:3.11\nRUNN true\n", Syntax.DOCKERFILE), "'RUNN' is not a Dockerfile instruction"),
    (_one("x.sh", "#!/bin/bash\nif true; then\n", Syntax.SHELL), "bash -n"),
])
def test_verify_rejects_broken_artifacts(files: list[RenderedFile], message: str) -> None:
    with pytest.raises(VerificationError) as caught:
        verify(files)
    assert message in caught.value.message
    assert "from spec field 'test.origin'" in caught.value.message


def test_verify_accepts_every_example(tmp_path: Path) -> None:
    for spec in sorted((REPO / "examples").glob("*/mlops.yaml")):
        build(spec, tmp_path)  # build() verifies; raising would fail the test


def test_no_slos_means_no_prometheus_rule(tmp_path: Path) -> None:
    files = {f.path: f for f in build(MINIMAL, tmp_path).files}
    assert "deploy/overlays/prod/prometheusrule.yaml" not in files
    kustomization = yaml.safe_load(files["deploy/overlays/prod/kustomization.yaml"].content)
    assert kustomization["resources"] == ["../../base", "dashboard.yaml", "pdb.yaml"]
