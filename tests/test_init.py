"""`mlopsgen init` scaffolds a repository whose tests pass with plain pytest, whose generated files
are current (`mlopsgen check`) and pass the real validators; invalid answers write nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conformance.validators import assert_tree_conforms
from conftest import CliResult

pytest.importorskip("cookiecutter")

REPO = Path(__file__).resolve().parent.parent
ANSWER_SETS = {
    "gitlab-kserve": ["name=fraud-scorer", "team=risk-ml", "ci=gitlab", "runtime=kserve", "strategy=canary"],
    "jenkins-seldon": ["name=claims-router", "ci=jenkins", "runtime=seldon", "case=automate-manual-task",
                       "registry_provider=oci", "image=harbor.example.com/claims/claims-router"],
    "gitlab-bentoml": ["name=sentiment-svc", "ci=gitlab", "runtime=bentoml", "strategy=blueGreen",
                       "gitops_repo=https://git.example.com/ml/deployments.git",
                       "description=Scores \"sentiment\": {{ not a template }}"],
}
METRICS = ("http_request_duration_seconds", "http_requests_total", "model_inflight_requests", "model_input_length",
           "model_input_rows_total", "model_input_missing_values_total", "model_input_values_total",
           "model_predictions_total", "model_predictions_null_total", "model_prediction_score")


def _answer(answers: list[str], key: str) -> str:
    return next(a.split("=", 1)[1] for a in answers if a.startswith(key + "="))


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three repositories, scaffolded once in-process."""
    from generator.cli import main

    out = tmp_path_factory.mktemp("init")
    repos = {}
    for case, answers in ANSWER_SETS.items():
        assert main(["init", "--no-input", "-o", str(out), *answers]) == 0, case
        repos[case] = out / _answer(answers, "name")
    return repos


@pytest.mark.parametrize("case", ANSWER_SETS)
def test_scaffolded_repository_tests_pass_with_plain_pytest(scaffolded: dict[str, Path], case: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=scaffolded[case], env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_scaffolded_code_passes_ruff_with_its_own_config(scaffolded: dict[str, Path]) -> None:
    if shutil.which("ruff") is None:
        pytest.skip("ruff is not installed")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."],
                            cwd=scaffolded["gitlab-bentoml"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", ANSWER_SETS)
def test_scaffolded_repository_is_current_and_complete(scaffolded: dict[str, Path], case: str,
                                                       cli: Callable[..., CliResult]) -> None:
    repo = scaffolded[case]
    result = cli("check", repo / "mlops.yaml")
    assert result.code == 0, result.text
    spec = (repo / "mlops.yaml").read_text()
    assert spec.startswith("# yaml-language-server: $schema=mlops.schema.json\n")
    assert json.loads((repo / "mlops.schema.json").read_text())["properties"]["metadata"]
    assert "mlopsgen check mlops.yaml" in (repo / ".pre-commit-config.yaml").read_text()
    readme = (repo / "README.md").read_text()
    assert "mlopsgen render mlops.yaml" in readme
    for requirements in ("requirements.txt", "requirements-test.txt", "requirements-lint.txt", "requirements-dev.txt"):
        for line in (repo / requirements).read_text().splitlines():
            assert line.startswith(("#", "-r")) or "==" in line, (requirements, line)
    answers = ANSWER_SETS[case]
    ci = _answer(answers, "ci")
    assert (repo / ".gitlab-ci.yml").exists() == (ci in ("gitlab", "both"))
    assert (repo / "Jenkinsfile").exists() == (ci in ("jenkins", "both"))
    # the lint job the README promises runs ruff at the version that passed here (ruff is a test dependency)
    pipeline = (repo / (".gitlab-ci.yml" if ci in ("gitlab", "both") else "Jenkinsfile")).read_text()
    assert "python -m ruff check ." in pipeline and "lint" in readme
    assert "-r requirements-lint.txt" in (repo / "requirements-dev.txt").read_text()
    assert "ci.mlopsgenPackage" in readme
    package = repo / "src" / _answer(answers, "name").replace("-", "_")
    assert {"train.py", "predict.py", "serve.py", "metrics.py"} <= {p.name for p in package.iterdir()}
    metrics_source = (package / "metrics.py").read_text()
    for name in METRICS:
        assert f'"{name}"' in metrics_source, name
    if case == "gitlab-bentoml":
        assert '"Scores \\"sentiment\\": {{ not a template }}"' in spec


def test_generated_files_pass_the_real_validators(scaffolded: dict[str, Path], tmp_path: Path) -> None:
    """One validator run over the generated files of all three repositories (mlops.yaml, the
    model's sources and the repository's own config are not generated and not checked here)."""
    for case, repo in scaffolded.items():
        manifest = json.loads((repo / ".mlopsgen" / "manifest.json").read_text())
        for rel in manifest["files"] + manifest.get("state", []):
            target = tmp_path / case / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo / rel, target)
    results = assert_tree_conforms(tmp_path)
    passed = {r.path for r in results if r.status == "PASS"}
    assert any(p.endswith("Jenkinsfile") for p in passed)
    assert sum(p.endswith(".gitlab-ci.yml") for p in passed) == 2
    assert sum(p.endswith("Dockerfile") for p in passed) == 3


@pytest.mark.parametrize(("answers", "expected"), [
    (["name=Bad_Name"], "name='Bad_Name' is not a DNS-1123 label"),
    (["runtime=torchserve"], "runtime='torchserve' is not one of: kserve, seldon, bentoml"),
    (["name=" + "a" * 41], "at most 40 characters"),
    (["runtime=kserve", "strategy=shadow"], "strategy=shadow cannot be carried out by runtime=kserve"),
    (["ci=circleci"], "ci='circleci' is not one of"),
    (["colour=red"], "unknown answer 'colour'"),
    (["name"], "is not key=value"),
    (["name=json"], "would hide Python's standard-library module json"),
    (["name=generator"], "would hide the module generator that mlopsgen"),
    (["name=jinja2"], "would hide the module jinja2"),
])
def test_invalid_answers_fail_before_anything_is_written(tmp_path: Path, cli: Callable[..., CliResult],
                                                         answers: list[str], expected: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    result = cli("init", "--no-input", "-o", out, *answers)
    assert result.code == 1, result.text
    assert expected in result.err
    assert "Traceback" not in result.text
    assert list(out.iterdir()) == []


def test_existing_directory_is_refused(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    result = cli("init", "--no-input", "-o", tmp_path, "name=taken")
    assert result.code == 1 and "already exists" in result.err
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]


def test_render_validate_check_do_not_import_cookiecutter() -> None:
    probe = ("import sys, generator.cli as c; c.main(['validate', sys.argv[1]]); "
             "print('cookiecutter' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe, str(REPO / "examples/fraud-detector/mlops.yaml")],
                            cwd=REPO, capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip().endswith("False")
