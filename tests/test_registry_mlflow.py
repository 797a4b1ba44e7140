"""`mlopsgen registry register|check|alias` against a real MLflow 3 server (tests/mlflow_server.py).

The models are logged with MLflow's own client, the way training code logs them, and every
registered version is loaded back with MLflow: a version registered from a source without the
model files would not load. The emulator (tests/emulators/mlflow.py, tests/test_registry.py)
stays for what a real server does not produce on demand: PENDING and FAILED registrations,
429/503 answers, redirects.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CliResult, copy_example
from mlflow_server import ADMIN, ADMIN_PASSWORD, LOAD_MODELS, LOG_MODELS, MlflowServer, start_server

from generator.ct.model_registry import ModelSource, RegistryError
from generator.integrations import mlflow_sources

TRAINING = """training:
  orchestrator: gitlab
  triggers: {schedule: "0 3 * * 1"}
  command: python -m m.train --out "$MODEL_OUTPUT_URI"
  outputUri: s3://ml-models/x/runs
  dataChecks: {path: data/train.csv, format: csv, minRows: 100}
  evaluation:
    command: python -m m.evaluate --model "$MODEL_URI" --out "$METRICS_FILE"
    thresholds: {auc: {min: 0.9}}
    champion: {metric: auc, direction: maximize, minImprovement: 0.001}
  registry: {provider: mlflow, trackingUri: https://mlflow.example.com, modelName: fraud-detector}
"""


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    yield from start_server(tmp_path_factory.mktemp("mlflow-server"))


@pytest.fixture(scope="session")
def logged(mlflow_server: MlflowServer) -> dict[str, str]:
    """One run with a logged model "model" (MLflow 3) and a model in its artifacts at "legacy"."""
    result: dict[str, str] = mlflow_server.python(LOG_MODELS)
    return result


@pytest.fixture
def spec_for(tmp_path: Path, mlflow_server: MlflowServer,
             monkeypatch: pytest.MonkeyPatch) -> Callable[[str], Path]:
    """spec_for(name): the fraud-detector spec registering as `name`, pointed at the server, with
    the server's admin as MLFLOW_TRACKING_USERNAME/PASSWORD and no token."""
    for key, value in mlflow_server.env().items():
        if key.startswith("MLFLOW_"):
            monkeypatch.setenv(key, value)
    for key in ("MLFLOW_TRACKING_TOKEN", "CI_PIPELINE_URL", "BUILD_URL", "AIRFLOW_CTX_DAG_RUN_ID"):
        monkeypatch.delenv(key, raising=False)

    def make(name: str, uri: str = "", version: str = "") -> Path:
        spec = tmp_path / name / "mlops.yaml"
        if not spec.exists():
            spec.parent.mkdir()
            copy_example(spec.parent, "fraud-detector")
        data = yaml.safe_load(spec.read_text(encoding="utf-8"))
        data["training"] = yaml.safe_load(TRAINING)["training"]
        data["training"]["registry"].update(modelName=name, trackingUri=mlflow_server.url)
        if uri:
            data["model"].update(uri=uri, version=version)
        spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return spec

    return make


def register(cli: Callable[..., CliResult], spec: Path, *args: object) -> tuple[CliResult, dict[str, Any]]:
    result = cli("registry", "register", spec, "--format", "json", *args)
    return result, json.loads(result.out) if result.code == 0 else {}


def test_register_runs_source_resolves_to_the_logged_model(cli: Callable[..., CliResult], spec_for: Callable[..., Path],
                                                           mlflow_server: MlflowServer, logged: dict[str, str]) -> None:
    run_id, model_id = logged["run_id"], logged["model_id"]
    spec = spec_for("logged-via-run")
    result, record = register(cli, spec, "--source", f"runs:/{run_id}/model")
    assert result.code == 0, result.text
    # resolved as mlflow.register_model does: the run's logged model named "model"
    assert record == {"name": "logged-via-run", "version": "1", "uri": "models:/logged-via-run/1",
                      "source": f"models:/{model_id}", "run_id": run_id, "model_id": model_id}
    status, answer = mlflow_server.api("GET", "model-versions/get", {"name": "logged-via-run", "version": "1"})
    mv = answer["model_version"]
    assert (status, mv["status"], mv["source"], mv["run_id"]) == (200, "READY", f"models:/{model_id}", run_id)
    # MLflow 3.17 leaves model_id out of its ModelVersion answers; with the model_id sent, the
    # server links the logged model to the new version instead (a tag on the logged model)
    status, answer = mlflow_server.api("GET", f"logged-models/{model_id}")
    tags = {t["key"]: t["value"] for t in answer["model"]["info"].get("tags", [])}
    assert status == 200 and {"name": "logged-via-run", "version": 1} in json.loads(tags["mlflow.modelVersions"])
    status, answer = mlflow_server.api("GET", "registered-models/alias", {"name": "logged-via-run",
                                                                          "alias": "challenger"})
    assert (status, answer["model_version"]["version"]) == (200, "1")

    # the logged model's own URI: sent with its model_id (MLflow refuses models:/m-... without one)
    result, record = register(cli, spec, "--source", logged["model_uri"])
    assert result.code == 0, result.text
    assert (record["version"], record["source"], record["model_id"], record["run_id"]) == (
        "2", f"models:/{model_id}", model_id, run_id)
    assert mlflow_server.python(LOAD_MODELS, "models:/logged-via-run/1", "models:/logged-via-run/2")


def test_register_model_in_run_artifacts_keeps_the_runs_source(cli: Callable[..., CliResult],
                                                               spec_for: Callable[..., Path],
                                                               mlflow_server: MlflowServer,
                                                               logged: dict[str, str]) -> None:
    run_id = logged["run_id"]
    result, record = register(cli, spec_for("logged-as-artifacts"), "--source", f"runs:/{run_id}/legacy")
    assert result.code == 0, result.text
    assert (record["source"], record["run_id"], "model_id" in record) == (f"runs:/{run_id}/legacy", run_id, False)
    assert mlflow_server.python(LOAD_MODELS, "models:/logged-as-artifacts/1")


def test_check_and_alias(cli: Callable[..., CliResult], spec_for: Callable[..., Path], mlflow_server: MlflowServer,
                         logged: dict[str, str]) -> None:
    spec = spec_for("checked")
    for _ in range(2):
        assert register(cli, spec, "--source", logged["model_uri"])[0].code == 0
    spec = spec_for("checked", "models:/checked/2", "2")
    result = cli("registry", "check", spec, "--format", "json")
    assert result.code == 0, result.text
    assert json.loads(result.out)["status"] == "READY"
    missing = cli("registry", "check", spec_for("checked", "models:/checked/3", "3"))
    assert missing.code == 1 and "FAIL checked version 3 is not registered" in missing.out
    assert cli("registry", "alias", spec_for("checked", "models:/checked/1", "1")).code == 0
    result = cli("registry", "alias", spec_for("checked", "models:/checked/2", "2"))
    assert (result.code, result.out.strip()) == (0, "alias champion -> checked version 2 (was version 1)")
    status, answer = mlflow_server.api("GET", "registered-models/alias", {"name": "checked", "alias": "champion"})
    assert (status, answer["model_version"]["version"]) == (200, "2")


@pytest.mark.parametrize(("source", "message"), [
    ("runs:/0123456789abcdef0123456789abcdef/model", "--source runs:/0123456789abcdef0123456789abcdef/model: MLflow"
                                                     " at {url} has no run 0123456789abcdef0123456789abcdef"),
    ("runs:/{run_id}/nosuch", "--source runs:/{run_id}/nosuch: run {run_id} holds no model at 'nosuch'"),
    ("runs:/{run_id}", "--source runs:/{run_id} is not runs:/<run_id>/<artifact path>"),
    ("models:/m-00000000000000000000000000000000", "has no logged model m-00000000000000000000000000000000"),
    ("/tmp/some/model", "--source /tmp/some/model is a local path"),
])
def test_refused_sources_create_nothing(cli: Callable[..., CliResult], spec_for: Callable[..., Path],
                                        mlflow_server: MlflowServer, logged: dict[str, str], source: str,
                                        message: str) -> None:
    name = "refused-" + hashlib.sha256(source.encode()).hexdigest()[:8]
    values = {"run_id": logged["run_id"], "url": mlflow_server.url}
    result = cli("registry", "register", spec_for(name), "--source", source.format(**values))
    assert result.code == 1 and message.format(**values) in result.err, result.err
    assert "hint:" in result.err and "Traceback" not in result.text
    status, answer = mlflow_server.api("GET", "registered-models/get", {"name": name})
    assert (status, answer.get("error_code")) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_run_id_that_contradicts_the_source(cli: Callable[..., CliResult], spec_for: Callable[..., Path],
                                            logged: dict[str, str]) -> None:
    spec = spec_for("contradicted")
    for source in (f"runs:/{logged['run_id']}/model", logged["model_uri"]):
        result = cli("registry", "register", spec, "--source", source, "--run-id", "feedbeef")
        assert result.code == 1 and "--run-id feedbeef is not the run" in result.err, result.err


def test_a_source_the_server_refuses_leaves_no_empty_model(cli: Callable[..., CliResult],
                                                            spec_for: Callable[..., Path],
                                                            mlflow_server: MlflowServer,
                                                            logged: dict[str, str]) -> None:
    # passes mlopsgen's checks (a local path with a run), refused by MLflow: outside the run's artifacts
    result = cli("registry", "register", spec_for("server-refused"), "--source", "/etc", "--run-id",
                 logged["run_id"])
    assert result.code == 1 and "INVALID_PARAMETER_VALUE" in result.err, result.err
    status, _ = mlflow_server.api("GET", "registered-models/get", {"name": "server-refused"})
    assert status == 404  # created for the version, deleted again when the version was refused


def test_basic_auth_server_refuses_a_bearer_token(cli: Callable[..., CliResult], spec_for: Callable[..., Path],
                                                  mlflow_server: MlflowServer, logged: dict[str, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    spec = spec_for("auth")
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", ADMIN_PASSWORD)
    result = cli("registry", "register", spec, "--source", logged["model_uri"])
    assert result.code == 1 and "refused the credentials (401)" in result.err, result.err
    assert "--app-name basic-auth) takes only MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" in result.err
    assert ADMIN_PASSWORD not in result.text
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong-" + ADMIN_PASSWORD)
    result = cli("registry", "register", spec, "--source", logged["model_uri"])
    assert result.code == 1 and "refused the credentials (401)" in result.err and ADMIN_PASSWORD not in result.text
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN_PASSWORD)  # username/password win over the token
    assert cli("registry", "register", spec, "--source", logged["model_uri"]).code == 0


# ---- what a real 3.17 server does not show: MLflow 2 servers, several logged models of one name ----


def test_the_generated_register_job_registers_what_training_logged(cli: Callable[..., CliResult],
                                                                   spec_for: Callable[..., Path],
                                                                   mlflow_server: MlflowServer,
                                                                   logged: dict[str, str]) -> None:
    """The retrain-register job of the rendered .gitlab-ci.yml, run as its shell would: the logged
    model named in model-uri.txt is registered (linked to run-id.txt's run); without that file,
    what the training wrote to $MODEL_OUTPUT_URI."""
    spec = spec_for("from-pipeline")
    assert cli("render", spec).code == 0
    job = yaml.safe_load((spec.parent / ".gitlab-ci.yml").read_text(encoding="utf-8"))["retrain-register"]
    assert "model-uri.txt" in yaml.safe_load((spec.parent / ".gitlab-ci.yml").read_text(
        encoding="utf-8"))["retrain-train"]["artifacts"]["paths"]
    (spec.parent / "gate-report.json").write_text(json.dumps({"passed": True, "challenger": {"auc": 0.93}}))
    env = {**mlflow_server.env(), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "MODEL_OUTPUT_URI": f"runs:/{logged['run_id']}/legacy"}

    def run_job() -> dict[str, Any]:
        for line in job["script"]:
            proc = subprocess.run(["sh", "-ec", line], cwd=spec.parent, env=env, capture_output=True, text=True,
                                  timeout=120, check=False)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        registered: dict[str, Any] = json.loads((spec.parent / "registered.json").read_text(encoding="utf-8"))
        return registered

    (spec.parent / "run-id.txt").write_text(logged["run_id"] + "\n")
    (spec.parent / "model-uri.txt").write_text(logged["model_uri"] + "\n")
    record = run_job()
    assert (record["version"], record["source"], record["model_id"], record["run_id"]) == (
        "1", f"models:/{logged['model_id']}", logged["model_id"], logged["run_id"])
    (spec.parent / "model-uri.txt").unlink()
    record = run_job()
    assert (record["version"], record["source"], "model_id" in record) == (
        "2", f"runs:/{logged['run_id']}/legacy", False)
    assert mlflow_server.python(LOAD_MODELS, "models:/from-pipeline/1", "models:/from-pipeline/2")


def fake_mlflow(answers: dict[str, Any]) -> Callable[[str, str, Any], dict[str, Any]]:
    """A `call` for mlflow_sources.resolve: endpoint -> answer, or the RegistryError to raise."""

    def call(method: str, endpoint: str, params: Any) -> dict[str, Any]:
        answer = answers[endpoint]
        if isinstance(answer, RegistryError):
            raise answer
        return dict(answer)

    return call


RUN = {"run": {"info": {"run_id": "r1", "experiment_id": "7"},
               "outputs": {"model_outputs": [{"model_id": "m-early", "step": 1}, {"model_id": "m-late", "step": 9}]}}}


def test_mlflow_2_server_keeps_the_runs_source() -> None:
    no_endpoint = RegistryError("MLflow answered HTTP 404", status=404)  # Flask's HTML 404: no error_code
    call = fake_mlflow({"runs/get": RUN, "artifacts/list": {}, "logged-models/search": no_endpoint})
    assert mlflow_sources.resolve(call, "http://mlflow", "runs:/r1/model") == ModelSource("runs:/r1/model", "r1")
    with pytest.raises(RegistryError, match="has no logged model m-1"):
        mlflow_sources.resolve(fake_mlflow({"logged-models/m-1": no_endpoint}), "http://mlflow", "models:/m-1")


def test_several_logged_models_of_one_name_take_the_latest_step() -> None:
    models = {"models": [{"info": {"model_id": m, "name": "model", "source_run_id": "r1"}}
                         for m in ("m-late", "m-early")]
              + [{"info": {"model_id": "m-other-run", "name": "model", "source_run_id": "r2"}}]}
    call = fake_mlflow({"runs/get": RUN, "artifacts/list": {"files": [{"path": "model/x.pkl"}]},
                        "logged-models/search": models})
    assert mlflow_sources.resolve(call, "http://mlflow", "runs:/r1/model") == ModelSource("models:/m-late", "r1",
                                                                                         "m-late")
