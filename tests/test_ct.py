"""Continuous training: the gate against the champion, the spec bump, the merge request that
sends a retrained model down the normal CD path, and what each pipeline kind runs."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import gitlab
import pytest
import yaml
from conformance.validators import gitlab_ci_local_jobs, require_tool
from conftest import EXAMPLES, CliResult
from emulators.gitlab import GitLabEmulator

from generator.ct.bump import bump_model
from generator.render.engine import build
from generator.spec.intake import load_valid_spec
from generator.spec.normalise import normalise

pytest_plugins = ["emulators.fixtures"]

TOKEN = "glpat-CT-SENTINEL-42"
PROJECT = "risk/fraud-detector"


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# --- the spec section -------------------------------------------------------------------------

def test_training_defaults_are_filled_in(tmp_path: Path) -> None:
    spec = normalise(load_valid_spec(EXAMPLES / "churn-predictor/mlops.yaml").data, "mlops.yaml")
    t = spec.training
    assert t is not None
    assert t.orchestrator == "jenkins"
    assert t.image == "python:3.12.7-slim-bookworm"  # ci.image, else build.baseImage
    assert (t.cpu, t.memory, t.gpu, t.timeout) == ("2", "8Gi", 0, "3h")
    assert t.triggers.data is not None and t.triggers.data.kind == "kafka"
    assert t.triggers.data.asset_uri == "kafka://kafka-0.kafka.svc:9092/crm.churn-labels"
    assert t.registry.model_name == "churn-predictor"
    assert (t.registry.challenger_alias, t.registry.champion_alias) == ("challenger", "champion")
    assert [c.name for c in t.data_checks.columns] == ["churned", "plan", "tenure_months"]
    assert t.data_checks.columns[0].max_missing == 0
    assert t.data_checks.columns[1].max_missing == 0.05  # inherits dataChecks.maxMissing


# --- mlopsgen evaluate ------------------------------------------------------------------------

FRAUD = EXAMPLES / "fraud-detector/mlops.yaml"  # auc >= 0.92, recall >= 0.6, beat the champion's auc by 0.002


def evaluate(cli: Callable[..., CliResult], tmp_path: Path, challenger: dict[str, object],
             champion: dict[str, object], spec: Path = FRAUD) -> tuple[CliResult, dict[str, object], str]:
    result = cli("evaluate", spec, "--challenger", write_json(tmp_path / "challenger.json", challenger),
                 "--champion", write_json(tmp_path / "champion.json", champion),
                 "--report", tmp_path / "report.json", "--markdown", tmp_path / "report.md")
    return (result, json.loads((tmp_path / "report.json").read_text()),
            (tmp_path / "report.md").read_text(encoding="utf-8"))


def test_a_better_model_passes_and_the_report_says_why(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    result, report, markdown = evaluate(cli, tmp_path, {"auc": 0.95, "recall_at_1pct_fpr": 0.7}, {"auc": 0.947})
    assert result.code == 0, result.text
    assert report["passed"] is True and report["decision"] == "promote" and report["reasons"] == []
    assert report["comparison"]["improvement"] == pytest.approx(0.003)
    assert report["champion_uri"] == "s3://ml-models/fraud-detector" and report["champion_version"] == "2.3.0"
    assert "**Passed**" in markdown
    assert "| `auc` (higher is better) | 0.95 | 0.947 | 0.003 | ≥ 0.002 | pass |" in markdown


def test_too_small_an_improvement_keeps_the_champion(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # 0.949 - 0.947 is 0.0019999999999997797 in floating point: exactly the required improvement passes
    result, report, _ = evaluate(cli, tmp_path, {"auc": 0.949, "recall_at_1pct_fpr": 0.7}, {"auc": 0.947})
    assert result.code == 0
    result, report, markdown = evaluate(cli, tmp_path, {"auc": 0.948, "recall_at_1pct_fpr": 0.7}, {"auc": 0.947})
    assert result.code == 1
    assert report["decision"] == "keep-champion"
    assert report["reasons"] == ["against the champion: auc 0.948 vs 0.947: improvement 0.001 < 0.002"]
    assert "**Failed**: the champion stays." in markdown
    assert "FAILED: the champion stays" in result.out


def test_thresholds_fail_closed_on_missing_and_non_numeric_metrics(cli: Callable[..., CliResult],
                                                                   tmp_path: Path) -> None:
    result, report, _ = evaluate(cli, tmp_path, {"auc": "0.99"}, {"auc": 0.9})
    assert result.code == 1
    assert report["reasons"] == ["auc: not a number: '0.99'", "recall_at_1pct_fpr: missing",
                                 "against the champion: the challenger's auc is not a number: '0.99'"]


def test_a_champion_without_the_metric_fails_closed(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    result, report, _ = evaluate(cli, tmp_path, {"auc": 0.99, "recall_at_1pct_fpr": 0.9}, {})
    assert result.code == 1
    assert report["reasons"] == ["against the champion: the champion's auc is missing"]


def test_minimize_metrics_improve_downwards(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    churn = EXAMPLES / "churn-predictor/mlops.yaml"  # f1 >= 0.7, brier <= 0.2, brier lower by 0.005
    result, report, markdown = evaluate(cli, tmp_path, {"f1": 0.8, "brier": 0.10}, {"brier": 0.11}, churn)
    assert result.code == 0, result.text
    assert report["comparison"]["improvement"] == pytest.approx(0.01)
    assert "(lower is better)" in markdown
    result, _, _ = evaluate(cli, tmp_path, {"f1": 0.8, "brier": 0.12}, {"brier": 0.11}, churn)
    assert result.code == 1


def test_evaluate_json_output_and_unreadable_metrics(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    result = cli("evaluate", FRAUD, "--challenger", tmp_path / "absent.json", "--champion", tmp_path / "x.json")
    assert result.code == 1
    assert "cannot read metrics file" in result.err and "$METRICS_FILE" in result.err
    result = cli("evaluate", FRAUD, "--format", "json",
                 "--challenger", write_json(tmp_path / "a.json", {"auc": 0.99, "recall_at_1pct_fpr": 0.9}),
                 "--champion", write_json(tmp_path / "b.json", {"auc": 0.9}))
    assert result.code == 0 and json.loads(result.out)["passed"] is True


def test_evaluate_needs_a_training_section(cli: Callable[..., CliResult]) -> None:
    result = cli("evaluate", EXAMPLES / "claims-triage/mlops.yaml", "--challenger", "a", "--champion", "b")
    assert result.code == 1 and "has no training section" in result.err


# --- the bump ---------------------------------------------------------------------------------

def test_bump_keeps_comments_and_layout_and_changes_only_the_model() -> None:
    text = FRAUD.read_text(encoding="utf-8")
    bumped = bump_model(text, "7", "models:/fraud-detector/7")
    changed = [(a, b) for a, b in zip(text.splitlines(), bumped.splitlines(), strict=True) if a != b]
    assert changed == [("  uri: s3://ml-models/fraud-detector", '  uri: "models:/fraud-detector/7"'),
                       ('  version: "2.3.0"', '  version: "7"')]


def test_bump_handles_flow_style_and_comments_after_values() -> None:
    text = "model: {framework: sklearn, uri: 's3://m/x', version: 1.0}  # pinned\nother: 1\n"
    assert bump_model(text, "12", "models:/x/12") == \
        'model: {framework: sklearn, uri: "models:/x/12", version: "12"}  # pinned\nother: 1\n'


# --- mlopsgen propose -------------------------------------------------------------------------

def registered(tmp_path: Path, version: str = "7") -> Path:
    return write_json(tmp_path / "registered.json", {
        "name": "fraud-detector", "version": version, "uri": f"models:/fraud-detector/{version}",
        "source": "s3://ml-models/fraud-detector/runs/1234", "run_id": "abc"})


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t.invalid", *args],
                          capture_output=True, text=True, check=True).stdout


def test_propose_commits_the_bump_and_the_regenerated_files_on_a_branch(cli: Callable[..., CliResult],
                                                                        tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copyfile(FRAUD, repo / "mlops.yaml")
    git(repo, "init", "-q", "-b", "main")
    assert cli("sync", repo / "mlops.yaml").code == 0  # the spec and its generated files, committed on main
    assert git(repo, "status", "--porcelain") == ""
    before = git(repo, "rev-parse", "main")
    (tmp_path / "gate.md").write_text("### Retraining gate\n\nauc 0.95 vs 0.947\n", encoding="utf-8")

    result = cli("propose", repo / "mlops.yaml", "--registered", registered(tmp_path), "--report",
                 tmp_path / "gate.md")
    assert result.code == 0, result.text
    assert git(repo, "rev-parse", "main") == before  # the default branch is untouched: review first
    spec = git(repo, "show", "mlopsgen/retrain-7:mlops.yaml")
    data = yaml.safe_load(spec)
    assert (data["model"]["version"], data["model"]["uri"]) == ("7", "models:/fraud-detector/7")
    changed = set(git(repo, "diff", "--name-only", "main", "mlopsgen/retrain-7").split())
    assert changed == {"mlops.yaml", ".gitlab-ci.yml", "Dockerfile",
                       "apps/fraud-detector/base/inferenceservice.yaml", ".mlopsgen/manifest.json"}
    dockerfile = git(repo, "show", "mlopsgen/retrain-7:Dockerfile")
    assert 'MODEL_VERSION=7 \\' in dockerfile and 'STORAGE_URI="models:/fraud-detector/7"' in dockerfile
    # the checked-out tree still holds main: `mlopsgen check` on the branch passes
    git(repo, "checkout", "-q", "mlopsgen/retrain-7")
    assert cli("check", repo / "mlops.yaml").code == 0


def test_the_bump_changes_no_deployed_manifest_until_promote(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """Order of operations: merging the proposal changes what the next image holds, never what
    runs; each environment gets the new model only when its promote step moves the image."""
    kubectl = require_tool("kubectl")
    spec = tmp_path / "mlops.yaml"
    spec.write_text(FRAUD.read_text(encoding="utf-8"), encoding="utf-8")
    built: dict[str, list[str]] = {"staging": [], "production": []}
    for text in (FRAUD.read_text(), bump_model(FRAUD.read_text(), "7", "models:/fraud-detector/7")):
        spec.write_text(text, encoding="utf-8")
        assert cli("render", spec).code == 0  # the release state (release.yaml) is promote's, kept
        for env, outputs in built.items():
            outputs.append(subprocess.run([kubectl, "kustomize", str(tmp_path / "apps/fraud-detector/overlays" / env)],
                                          capture_output=True, text=True, check=True).stdout)
    assert (tmp_path / "Dockerfile").read_text().count("MODEL_VERSION=7") == 1  # the next image holds it
    for env, (before, after) in built.items():
        assert before == after, env


@pytest.fixture
def gl(gitlab_emulator: GitLabEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> GitLabEmulator:
    gitlab_emulator.tokens[TOKEN] = "maintainer"
    monkeypatch.setenv("GITLAB_TOKEN", TOKEN)
    monkeypatch.delenv("CI_JOB_TOKEN", raising=False)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copyfile(FRAUD, checkout / "mlops.yaml")
    files = {f.path: f.data for f in build(checkout / "mlops.yaml", checkout).files}
    gitlab_emulator.create_project(PROJECT, files={"mlops.yaml": FRAUD.read_bytes(), **files})
    return gitlab_emulator


def test_propose_opens_one_merge_request_with_the_gate_report(cli: Callable[..., CliResult], gl: GitLabEmulator,
                                                              tmp_path: Path) -> None:
    (tmp_path / "gate.md").write_text("### Retraining gate for `fraud-detector`\n\n**Passed**\n", encoding="utf-8")
    args = ("propose", "mlops.yaml", "--registered", registered(tmp_path), "--report", tmp_path / "gate.md",
            "--gitlab-url", gl.url, "--project", PROJECT, "--format", "json")
    first = cli(*args)
    assert first.code == 0, first.text
    outcome = json.loads(first.out)
    assert outcome["status"] == "changed" and outcome["merge_request"]["created"] is True
    again = cli(*args)  # a rerun of the job: the branch already holds the proposal, nothing is touched
    assert again.code == 0, again.text
    assert json.loads(again.out)["status"] == "unchanged" and json.loads(again.out)["merge_request"] is None
    client = gitlab.Gitlab(gl.url, private_token=TOKEN)
    mrs = client.projects.get(PROJECT).mergerequests.list(state="opened", get_all=True)
    assert len(mrs) == 1
    mr = mrs[0]
    assert (mr.source_branch, mr.target_branch) == ("mlopsgen/retrain-7", "main")
    assert mr.title == "Retrain fraud-detector: model version 7"
    assert "**Passed**" in mr.description and "`models:/fraud-detector/7`" in mr.description
    assert TOKEN not in first.text + again.text


def test_propose_refuses_a_registered_file_that_does_not_pin_a_version(cli: Callable[..., CliResult],
                                                                       tmp_path: Path) -> None:
    bad = write_json(tmp_path / "r.json", {"name": "fraud-detector", "version": "7\n- injected", "uri": "x"})
    result = cli("propose", FRAUD, "--registered", bad)
    assert result.code == 1 and "is not a model version" in result.err
    alias = write_json(tmp_path / "a.json", {"name": "fraud-detector", "version": "7",
                                             "uri": "models:/fraud-detector@champion"})
    result = cli("propose", FRAUD, "--registered", alias)
    assert result.code == 1 and "does not pin models:/fraud-detector/7" in result.err


# --- which jobs each GitLab pipeline runs (gitlab-ci-local evaluates the rules) ---------------

RETRAIN_JOBS = ["retrain-data-checks", "retrain-train", "retrain-evaluate", "retrain-register", "retrain-propose"]


@pytest.mark.parametrize("variables", [{"CI_PIPELINE_SOURCE": "schedule"}, {"CI_PIPELINE_SOURCE": "trigger"},
                                       {"CI_PIPELINE_SOURCE": "web", "RETRAIN": "true"}],
                         ids=["schedule", "trigger", "web-retrain"])
def test_retraining_pipelines_run_only_the_retraining_chain(variables: dict[str, str]) -> None:
    jobs = gitlab_ci_local_jobs(EXAMPLES / "fraud-detector/rendered/.gitlab-ci.yml", variables)
    assert [j["name"] for j in jobs] == RETRAIN_JOBS
    assert [j["needs"] for j in jobs] == [[], ["retrain-data-checks"], ["retrain-train"],
                                          ["retrain-train", "retrain-evaluate"],
                                          ["retrain-evaluate", "retrain-register"]]


def test_delivery_pipelines_run_no_retraining_and_check_the_registry_before_building() -> None:
    jobs = {j["name"]: j for j in gitlab_ci_local_jobs(EXAMPLES / "fraud-detector/rendered/.gitlab-ci.yml",
                                                       {"CI_PIPELINE_SOURCE": "push"})}
    assert not set(RETRAIN_JOBS) & set(jobs)
    assert "model-registered" in jobs["build-image"]["needs"]
    assert "deploy-staging" in jobs
    assert jobs["registry-champion"]["needs"] == ["promote-production"]  # after production serves it
    mr = {j["name"] for j in gitlab_ci_local_jobs(EXAMPLES / "fraud-detector/rendered/.gitlab-ci.yml",
                                                  {"CI_PIPELINE_SOURCE": "merge_request_event"},
                                                  branch="feature")}
    assert "model-registered" not in mr and not set(RETRAIN_JOBS) & mr and "unit-tests" in mr


def test_the_train_job_asks_for_its_resources(tmp_path: Path) -> None:
    pipeline = yaml.safe_load((EXAMPLES / "fraud-detector/rendered/.gitlab-ci.yml").read_text())
    train = pipeline["retrain-train"]
    assert train["timeout"] == "2h"
    assert train["variables"] == {"KUBERNETES_CPU_REQUEST": "4", "KUBERNETES_MEMORY_REQUEST": "16Gi",
                                  "KUBERNETES_MEMORY_LIMIT": "16Gi"}
    assert "tags" not in train
    evaluate_job = pipeline["retrain-evaluate"]
    assert evaluate_job["artifacts"]["when"] == "always"  # a failed gate still shows its report
    assert "gate-report.md" in evaluate_job["artifacts"]["paths"]


def test_jenkins_retraining_pipeline_has_cron_parameters_and_the_chain() -> None:
    text = (EXAMPLES / "churn-predictor/rendered/Jenkinsfile.retrain").read_text()
    assert "cron('H 2 * * *')" in text
    assert "choice(name: 'REASON'" in text and "booleanParam(name: 'PROPOSE'" in text
    stages = [line.strip() for line in text.splitlines() if line.strip().startswith("stage(")]
    assert stages == ["stage('Set up') {", "stage('Data checks') {", "stage('Train') {", "stage('Evaluate') {",
                      "stage('Register') {", "stage('Propose') {"]


def test_only_production_alerts_named_by_training_carry_the_retrain_label() -> None:
    for env, expected in (("production", {"score-drift"}), ("staging", set())):
        rule = yaml.safe_load((EXAMPLES / f"fraud-detector/rendered/apps/fraud-detector/overlays/{env}/"
                               "prometheusrule.yaml").read_text())
        labelled = {r["labels"]["slo"] for r in rule["spec"]["groups"][0]["rules"]
                    if r["labels"].get("mlopsgen_retrain") == "true"}
        assert labelled == expected, env
