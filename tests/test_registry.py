"""The MLflow registry client and `mlopsgen registry` against the MLflow emulator, over real HTTP.

A real MLflow server runs in tests/test_registry_mlflow.py (register from logged models, check,
alias, basic auth); the emulator stays for what that server does not produce on demand: versions
that stay PENDING_REGISTRATION or end FAILED_REGISTRATION, 429/503 answers with Retry-After,
redirects, an unreachable server, a token accepted by a proxy in front of MLflow.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CliResult, Project
from emulators.mlflow import (
    MLFLOW_TOKEN,
    MLFLOW_USER,
    Fault,
    MlflowEmulator,
    mlflow_emulator_fixture,  # noqa: F401 - provides the mlflow_emulator fixture
)

from generator.integrations.mlflow import FAILED, PENDING, READY, Credentials, MlflowRegistry, RegistryError

MODEL = "fraud-detector"
SENTINEL = "mlflow-LEAK-CANARY-7c1f0a"
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


class Clock:
    """A fake clock that sleeping advances: polls and retries run without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def client(emu: MlflowEmulator, clock: Clock, credentials: Credentials | None = None, **options: Any) -> MlflowRegistry:
    return MlflowRegistry(emu.url, credentials or Credentials(token=MLFLOW_TOKEN), sleep=clock.sleep, clock=clock,
                          **options)


def raw(emu: MlflowEmulator, method: str, endpoint: str, body: dict[str, Any] | None = None,
        query: str = "", token: str | None = MLFLOW_TOKEN) -> tuple[int, dict[str, str], bytes]:
    """One request as any HTTP client would send it: the emulator's own answers, unparsed."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{emu.url}/api/2.0/mlflow/{endpoint}{query}", data=data, method=method,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read()


# ---- the emulator answers as MLflow does ----------------------------------------------------------


def test_emulator_errors_are_mlflow_error_bodies(mlflow_emulator: MlflowEmulator) -> None:
    emu = mlflow_emulator
    assert raw(emu, "POST", "registered-models/create", {"name": MODEL})[0] == 200
    status, _, body = raw(emu, "POST", "registered-models/create", {"name": MODEL})
    assert (status, json.loads(body)) == (400, {"error_code": "RESOURCE_ALREADY_EXISTS",
                                                "message": f"Registered Model (name={MODEL}) already exists."})
    status, _, body = raw(emu, "GET", "model-versions/get", query=f"?name={MODEL}&version=7")
    assert (status, json.loads(body)) == (404, {"error_code": "RESOURCE_DOES_NOT_EXIST",
                                                "message": f"Model Version (name={MODEL}, version=7) not found"})
    status, _, body = raw(emu, "GET", "model-versions/get", query=f"?name={MODEL}&version=seven")
    assert (status, json.loads(body)["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    status, _, body = raw(emu, "GET", "registered-models/alias", query=f"?name={MODEL}&alias=champion")
    assert (status, json.loads(body)) == (400, {"error_code": "INVALID_PARAMETER_VALUE",
                                                "message": "Registered model alias champion not found."})
    status, _, body = raw(emu, "POST", "model-versions/create", {"source": "s3://m"})
    assert status == 400 and "Missing value for required parameter 'name'" in json.loads(body)["message"]
    status, headers, body = raw(emu, "GET", "registered-models/get", query=f"?name={MODEL}", token="wrong")
    assert (status, headers["WWW-Authenticate"]) == (401, 'Basic realm="mlflow"')
    assert body.startswith(b"You are not authenticated.")
    assert raw(emu, "GET", "registered-models/get-model-version-by-alias", query="?name=x&alias=y")[0] == 404
    assert raw(emu, "GET", "model-versions/create")[0] == 405  # Flask: known path, other method


def test_emulator_entities_leave_out_empty_fields(mlflow_emulator: MlflowEmulator) -> None:
    emu = mlflow_emulator
    _, _, body = raw(emu, "POST", "registered-models/create", {"name": MODEL})
    assert set(json.loads(body)["registered_model"]) == {"name", "creation_timestamp", "last_updated_timestamp"}
    _, _, body = raw(emu, "POST", "model-versions/create", {"name": MODEL, "source": "s3://m/1"})
    mv = json.loads(body)["model_version"]
    assert mv["version"] == "1" and mv["status"] == READY and mv["current_stage"] == "None"
    assert "run_id" not in mv and "tags" not in mv and "aliases" not in mv
    assert isinstance(mv["creation_timestamp"], int)


# ---- the client ---------------------------------------------------------------------------------


def test_create_registered_model_twice(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    registry = client(mlflow_emulator, clock)
    assert registry.ensure_registered_model(MODEL, "fraud scores") is True
    assert registry.ensure_registered_model(MODEL) is False  # RESOURCE_ALREADY_EXISTS is tolerated
    assert list(mlflow_emulator.models) == [MODEL]
    assert mlflow_emulator.models[MODEL].description == "fraud scores"
    assert [r[0] for r in mlflow_emulator.requests] == ["POST", "POST"]


def test_versions_are_numbered_per_model_from_1(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    registry = client(mlflow_emulator, clock)
    for name in (MODEL, "churn"):
        registry.ensure_registered_model(name)
    created = [registry.create_version(MODEL, f"s3://m/{n}", run_id=f"run{n}") for n in range(3)]
    other = registry.create_version("churn", "s3://c/0", tags={"team": "growth"})
    assert [mv.version for mv in created] == ["1", "2", "3"] and other.version == "1"
    assert created[2].uri == f"models:/{MODEL}/3" and created[2].run_id == "run2"
    assert other.tags == {"team": "growth"}
    assert registry.get_version(MODEL, "2").source == "s3://m/1"


def test_create_version_of_a_missing_model_is_404(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    with pytest.raises(RegistryError) as err:
        client(mlflow_emulator, clock).create_version("nope", "s3://m")
    assert (err.value.status, err.value.error_code) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert "Registered Model with name=nope not found" in err.value.message


@pytest.mark.parametrize("mlflow_emulator", [{"ready_after": 3}], indirect=True)
def test_wait_ready_polls_with_backoff(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    registry = client(mlflow_emulator, clock)
    registry.ensure_registered_model(MODEL)
    assert registry.create_version(MODEL, "s3://m/1").status == PENDING
    assert registry.wait_ready(MODEL, "1").status == READY
    assert clock.sleeps == [1.0, 2.0, 4.0]  # three pending answers, then READY
    gets = [r for r in mlflow_emulator.requests if r[0] == "GET"]
    assert len(gets) == 4 and all(path.endswith("name=fraud-detector&version=1") for _, path in gets)


@pytest.mark.parametrize("mlflow_emulator", [{"ready_after": 1000}], indirect=True)
def test_wait_ready_times_out(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    registry = client(mlflow_emulator, clock)
    registry.ensure_registered_model(MODEL)
    registry.create_version(MODEL, "s3://m/1")
    with pytest.raises(RegistryError, match="still PENDING_REGISTRATION after 600s"):
        registry.wait_ready(MODEL, "1", timeout=600)
    assert sum(clock.sleeps) == 600 and max(clock.sleeps) == MlflowRegistry.poll_max


@pytest.mark.parametrize("mlflow_emulator", [{"ready_after": 2, "fail_registration": "cannot read s3://m/1"}],
                         indirect=True)
def test_failed_registration(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    registry = client(mlflow_emulator, clock)
    registry.ensure_registered_model(MODEL)
    registry.create_version(MODEL, "s3://m/1")
    with pytest.raises(RegistryError) as err:
        registry.wait_ready(MODEL, "1")
    assert err.value.error_code == FAILED
    assert "FAILED_REGISTRATION" in err.value.message and "cannot read s3://m/1" in err.value.message
    assert registry.get_version(MODEL, "1").status_message == "cannot read s3://m/1"


def test_aliases(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    registry = client(mlflow_emulator, clock)
    registry.ensure_registered_model(MODEL)
    for n in range(2):
        registry.create_version(MODEL, f"s3://m/{n}")
    assert registry.version_by_alias(MODEL, "champion") is None
    registry.set_alias(MODEL, "champion", "1")
    registry.set_alias(MODEL, "challenger", "2")
    champion = registry.version_by_alias(MODEL, "champion")
    assert champion is not None and (champion.version, champion.aliases) == ("1", ("champion",))
    registry.set_alias(MODEL, "champion", "2")  # an alias moves
    assert mlflow_emulator.models[MODEL].aliases == {"champion": "2", "challenger": "2"}
    assert registry.get_version(MODEL, "2").aliases == ("challenger", "champion")
    registry.delete_alias(MODEL, "challenger")
    assert registry.version_by_alias(MODEL, "challenger") is None
    with pytest.raises(RegistryError) as err:
        registry.set_alias(MODEL, "champion", "9")
    assert (err.value.status, err.value.error_code) == (404, "RESOURCE_DOES_NOT_EXIST")
    with pytest.raises(RegistryError, match="'latest' alias name"):
        registry.set_alias(MODEL, "latest", "1")
    with pytest.raises(RegistryError) as err:
        registry.version_by_alias("nope", "champion")  # a missing model is not a missing alias
    assert err.value.status == 404


def test_version_tags(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    registry = client(mlflow_emulator, clock)
    registry.ensure_registered_model(MODEL)
    registry.create_version(MODEL, "s3://m/1", tags={"a": "1"})
    registry.set_version_tag(MODEL, "1", "metric.auc", "0.93")
    registry.set_version_tag(MODEL, "1", "a", "2")
    assert mlflow_emulator.version(MODEL, "1").tags == {"a": "2", "metric.auc": "0.93"}


def test_missing_version_is_404_with_mlflow_message(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    with pytest.raises(RegistryError) as err:
        client(mlflow_emulator, clock).get_version(MODEL, "3")
    assert (err.value.status, err.value.error_code) == (404, "RESOURCE_DOES_NOT_EXIST")
    assert err.value.message == f"MLflow model-versions/get: RESOURCE_DOES_NOT_EXIST: Model Version " \
                                f"(name={MODEL}, version=3) not found"
    assert err.value.to_json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_429_retry_honours_retry_after(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    fault = mlflow_emulator.inject(Fault("429", times=2, retry_after="7"))
    assert client(mlflow_emulator, clock).ensure_registered_model(MODEL) is True
    assert (fault.fired, clock.sleeps) == (2, [7.0, 7.0])
    assert len(mlflow_emulator.requests) == 3


def test_retry_after_is_bounded_and_503_backs_off(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    mlflow_emulator.inject(Fault("429", retry_after="86400"))
    registry = client(mlflow_emulator, clock)
    registry.ensure_registered_model(MODEL)
    assert clock.sleeps == [60.0]
    mlflow_emulator.inject(Fault("503", times=3, retry_after=None))
    registry.create_version(MODEL, "s3://m/1")  # 503: not acted on, so even a create is sent again
    assert clock.sleeps == [60.0, 1.0, 2.0, 4.0]
    assert len(mlflow_emulator.models[MODEL].versions) == 1


def test_429_retries_are_bounded(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    mlflow_emulator.inject(Fault("429", times=100, retry_after="2"))
    with pytest.raises(RegistryError) as err:
        client(mlflow_emulator, clock, attempts=4).get_version(MODEL, "1")
    assert (err.value.status, err.value.error_code) == (429, "REQUEST_LIMIT_EXCEEDED")
    assert clock.sleeps == [2.0, 2.0, 2.0] and len(mlflow_emulator.requests) == 4


@pytest.mark.parametrize("creds", [Credentials(token=SENTINEL), Credentials(username=MLFLOW_USER, password=SENTINEL),
                                   Credentials()], ids=["token", "basic", "none"])
def test_refused_credentials_never_appear_in_errors(mlflow_emulator: MlflowEmulator, clock: Clock,
                                                    creds: Credentials) -> None:
    with pytest.raises(RegistryError) as err:
        client(mlflow_emulator, clock, creds).get_version(MODEL, "1")
    assert err.value.status == 401 and "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD" in err.value.hint
    assert SENTINEL not in f"{err.value.format()} {err.value.to_json()} {err.value!r}"
    assert SENTINEL not in repr(creds)


def test_not_an_mlflow_server(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    registry = MlflowRegistry(mlflow_emulator.url + "/mlflow", Credentials(token=MLFLOW_TOKEN), sleep=clock.sleep)
    with pytest.raises(RegistryError) as err:
        registry.get_version(MODEL, "1")  # Flask's HTML 404: not "not registered"
    assert (err.value.status, err.value.error_code) == (404, "")
    assert "not with an MLflow API error" in err.value.message


def test_redirects_are_not_followed(mlflow_emulator: MlflowEmulator, clock: Clock) -> None:
    """urllib would send the Authorization header on to wherever a redirect points."""
    seen: list[str] = []

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append(self.path)
            self.send_response(302)
            self.send_header("Location", mlflow_emulator.url + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Redirect) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        registry = MlflowRegistry(f"http://127.0.0.1:{server.server_address[1]}", Credentials(token=SENTINEL),
                                  sleep=clock.sleep)
        with pytest.raises(RegistryError, match="redirects are not followed") as err:
            registry.get_version(MODEL, "1")
        server.shutdown()
    assert (err.value.status, len(seen), mlflow_emulator.requests) == (302, 1, [])


def test_unreachable_server(clock: Clock) -> None:
    registry = MlflowRegistry("http://127.0.0.1:9", Credentials(token=SENTINEL), sleep=clock.sleep, timeout=2)
    with pytest.raises(RegistryError, match="cannot reach MLflow") as err:
        registry.get_version(MODEL, "1")
    assert len(clock.sleeps) == 4  # a read is retried
    clock.sleeps.clear()
    with pytest.raises(RegistryError):
        registry.create_version(MODEL, "s3://m")
    assert clock.sleeps == []  # a create that may have happened is not sent twice
    assert SENTINEL not in err.value.format()


# ---- `mlopsgen registry` --------------------------------------------------------------------------


@pytest.fixture
def ct(fraud: Project, monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Project:
    """The fraud-detector spec with a training section; MLflow credentials and CI variables cleared,
    and time.sleep recording instead of sleeping: the commands poll and retry without waiting."""
    data = yaml.safe_load(fraud.spec.read_text(encoding="utf-8"))
    data["training"] = yaml.safe_load(TRAINING)["training"]  # this test's own, whatever the example has
    fraud.spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "CI_PIPELINE_URL",
                 "BUILD_URL", "AIRFLOW_CTX_DAG_RUN_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", MLFLOW_TOKEN)
    monkeypatch.setattr(time, "sleep", clock.sleep)
    return fraud


def pin(project: Project, uri: str, version: str) -> None:
    """Set the spec's model.uri and model.version (the only uri and version lines of the example)."""
    text = project.spec.read_text(encoding="utf-8")
    pinned, count = re.subn(r"  uri: .*\n  version: .*", f"  uri: {uri}\n  version: '{version}'", text)
    assert count == 1
    project.spec.write_text(pinned, encoding="utf-8")


def write_report(path: Path, challenger: Any, passed: bool = True) -> Path:
    path.write_text(json.dumps({"passed": passed, "challenger": challenger, "champion": {"auc": 0.9}}))
    return path


@pytest.mark.parametrize("mlflow_emulator", [{"ready_after": 2}], indirect=True)
def test_register(cli: Callable[..., CliResult], ct: Project, mlflow_emulator: MlflowEmulator,
                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: Clock) -> None:
    emu = mlflow_emulator
    monkeypatch.setenv("CI_PIPELINE_URL", "https://gitlab.example.com/risk/fraud/-/pipelines/42")
    report = write_report(tmp_path / "report.json", {"auc": 0.95, "f1": 1, "note": "x", "flag": True,
                                                     "bad/../name": 0.1, "nan": float("nan")})
    output = tmp_path / "registered.json"
    result = cli("registry", "register", ct.spec, "--source", "s3://ml-models/x/runs/r1", "--run-id", "r1",
                 "--report", report, "--output", output, "--tracking-uri", emu.url)
    assert result.code == 0, result.text
    assert "registered fraud-detector version 1 (models:/fraud-detector/1)" in result.out
    assert "alias challenger -> fraud-detector version 1" in result.out
    assert "not tagging 'note'" in result.err
    assert clock.sleeps == [1.0, 2.0]  # two PENDING_REGISTRATION answers, then READY
    mv = emu.version(MODEL, "1")
    assert (mv.status, mv.source, mv.run_id) == (READY, "s3://ml-models/x/runs/r1", "r1")
    assert mv.tags == {"mlopsgen.spec_digest": "sha256:" + hashlib.sha256(ct.spec.read_bytes()).hexdigest(),
                       "mlopsgen.pipeline": "https://gitlab.example.com/risk/fraud/-/pipelines/42",
                       "metric.auc": "0.95", "metric.f1": "1"}
    assert emu.models[MODEL].aliases == {"challenger": "1"}
    assert json.loads(output.read_text()) == {"name": MODEL, "version": "1", "uri": "models:/fraud-detector/1",
                                              "source": "s3://ml-models/x/runs/r1", "run_id": "r1"}

    again = cli("registry", "register", ct.spec, "--source", "s3://ml-models/x/runs/r2", "--format", "json",
                "--tracking-uri", emu.url)
    assert again.code == 0, again.text
    assert json.loads(again.out) == {"name": MODEL, "version": "2", "uri": "models:/fraud-detector/2",
                                     "source": "s3://ml-models/x/runs/r2", "run_id": None}
    assert emu.models[MODEL].aliases == {"challenger": "2"}


@pytest.mark.parametrize("mlflow_emulator", [{"fail_registration": "artifact copy failed"}], indirect=True)
def test_register_failed_registration(cli: Callable[..., CliResult], ct: Project, mlflow_emulator: MlflowEmulator,
                                      tmp_path: Path) -> None:
    output = tmp_path / "registered.json"
    result = cli("registry", "register", ct.spec, "--source", "s3://m/1", "--output", output,
                 "--tracking-uri", mlflow_emulator.url)
    assert result.code == 1
    assert "version 1 was created, but" in result.err and "artifact copy failed" in result.err
    assert mlflow_emulator.models[MODEL].aliases == {} and not output.exists()


def test_register_refuses_bad_reports_before_any_request(cli: Callable[..., CliResult], ct: Project,
                                                         mlflow_emulator: MlflowEmulator, tmp_path: Path) -> None:
    reports = {"not-json.json": "{", "list.json": "[1]", "failed.json": json.dumps({"passed": False}),
               "missing.json": None}
    for name, text in reports.items():
        if text is not None:
            (tmp_path / name).write_text(text)
        result = cli("registry", "register", ct.spec, "--source", "s3://m/1", "--report", tmp_path / name,
                     "--tracking-uri", mlflow_emulator.url)
        assert result.code == 1, (name, result.text)
    assert mlflow_emulator.requests == []
    odd = write_report(tmp_path / "odd.json", ["not", "an", "object"])  # no metrics to tag, still registered
    assert cli("registry", "register", ct.spec, "--source", "s3://m/1", "--report", odd,
               "--tracking-uri", mlflow_emulator.url).code == 0


def test_check(cli: Callable[..., CliResult], ct: Project, mlflow_emulator: MlflowEmulator) -> None:
    emu = mlflow_emulator
    check = ("registry", "check", ct.spec, "--tracking-uri", emu.url)
    result = cli(*check)  # s3://, not from the registry yet: the first retraining run proposes one
    assert result.code == 0 and "not in the registry (not models:/...): nothing to check" in result.out
    assert emu.requests == []
    pin(ct, "models:/fraud-detector", "2.3.0")
    result = cli(*check)  # a registry model, but model.version 2.3.0 is not a registry version
    assert result.code == 1 and "not an MLflow version number" in result.err
    pin(ct, "models:/fraud-detector", "1")  # the name from the URI, the version from model.version
    result = cli(*check)
    assert (result.code, result.out.strip()) == (1, f"FAIL fraud-detector version 1 is not registered in MLflow "
                                                    f"at {emu.url}")
    emu.add_version(MODEL, status=PENDING)
    assert "still registering" in cli(*check).out
    emu.models[MODEL].versions[0].status = READY
    result = cli(*check, "--format", "json")
    assert result.code == 0
    assert json.loads(result.out) == {"name": MODEL, "version": "1", "uri": "models:/fraud-detector/1",
                                      "status": READY, "ready": True,
                                      "message": "fraud-detector version 1 is registered and READY"}
    emu.add_version("other-name", status=FAILED, status_message="boom")
    pin(ct, "models://other-name", "1")  # the name from the URI, the version from model.version
    result = cli(*check)
    assert result.code == 1 and "failed to register" in result.out


@pytest.mark.parametrize(("uri", "message"), [
    ("models:/fraud-detector@champion", "names an alias"),
    ("models:/fraud-detector/latest", "is not models:/<name>/<version number>"),
    ("models:/fraud-detector/Production", "is not models:/<name>/<version number>"),
    ("models:/fraud-detector/2", "pins version 2 but model.version is '1'"),
    ("models:/fraud-detector/1", None),
    ("s3://ml-models/fraud-detector", "not in the registry"),
])
def test_check_refuses_moving_references(cli: Callable[..., CliResult], ct: Project,
                                         mlflow_emulator: MlflowEmulator, uri: str, message: str | None) -> None:
    pin(ct, uri, "1")
    mlflow_emulator.add_version(MODEL)
    for command in ("check", "alias"):
        result = cli("registry", command, ct.spec, "--tracking-uri", mlflow_emulator.url)
        if message is None:  # a pinned version: fine
            assert result.code == 0, result.text
        elif message == "not in the registry":  # before the first retraining: nothing to do, no request
            assert result.code == 0 and message in result.out, result.text
        else:
            assert result.code == 1 and message in result.err, result.err
    assert mlflow_emulator.models[MODEL].aliases == ({"champion": "1"} if message is None else {})


def test_alias(cli: Callable[..., CliResult], ct: Project, mlflow_emulator: MlflowEmulator) -> None:
    emu = mlflow_emulator
    for status in (READY, PENDING):
        emu.add_version(MODEL, status=status)
    emu.models[MODEL].aliases["champion"] = "1"
    pin(ct, "models:/fraud-detector/3", "3")
    alias = ("registry", "alias", ct.spec, "--tracking-uri", emu.url)
    result = cli(*alias)
    assert result.code == 1 and "version 3 is not registered" in result.err
    pin(ct, "models:/fraud-detector/2", "2")
    result = cli(*alias)
    assert result.code == 1 and "PENDING_REGISTRATION, not READY: champion is not moved" in result.err
    assert emu.models[MODEL].aliases == {"champion": "1"}
    emu.models[MODEL].versions[1].status = READY
    result = cli(*alias)
    assert (result.code, result.out.strip()) == (0, "alias champion -> fraud-detector version 2 (was version 1)")
    result = cli(*alias, "--alias", "canary", "--format", "json")
    assert json.loads(result.out) == {"name": MODEL, "version": "2", "alias": "canary",
                                      "uri": "models:/fraud-detector/2", "previous": None}
    assert emu.models[MODEL].aliases == {"champion": "2", "canary": "2"}


def test_tracking_uri_option_then_environment_then_spec(cli: Callable[..., CliResult], ct: Project,
                                                        mlflow_emulator: MlflowEmulator,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    pin(ct, "s3://ml-models/fraud-detector", "1")
    mlflow_emulator.add_version(MODEL)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_emulator.url)
    assert cli("registry", "check", ct.spec).code == 0  # the environment, over the spec's unreachable URL
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    assert cli("registry", "check", ct.spec, "--tracking-uri", mlflow_emulator.url).code == 0
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks")
    result = cli("registry", "check", ct.spec)
    assert result.code == 1 and "MLFLOW_TRACKING_URI 'databricks' is not an http(s) URL" in result.err
    result = cli("registry", "check", ct.spec, "--tracking-uri", f"http://bot:{SENTINEL}@127.0.0.1:9")
    assert result.code == 1 and "--tracking-uri holds credentials" in result.err and SENTINEL not in result.text


def test_no_training_section(cli: Callable[..., CliResult], fraud: Project) -> None:
    data = yaml.safe_load(fraud.spec.read_text(encoding="utf-8"))
    data.pop("training", None)
    fraud.spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = cli("registry", "check", fraud.spec)
    assert result.code == 1 and "has no training section" in result.err and "hint:" in result.err


def test_token_never_in_output(cli: Callable[..., CliResult], ct: Project, mlflow_emulator: MlflowEmulator,
                               monkeypatch: pytest.MonkeyPatch, tmp_path: Path, clock: Clock) -> None:
    emu = mlflow_emulator
    emu.token = SENTINEL
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", SENTINEL)
    output = tmp_path / "registered.json"
    register = ("registry", "register", ct.spec, "--source", "s3://m/1", "--output", output, "--tracking-uri", emu.url)
    results = [cli(*register), cli(*register, "--format", "json")]
    pin(ct, "models:/fraud-detector/1", "1")
    results += [cli("registry", "check", ct.spec, "--tracking-uri", emu.url),
                cli("registry", "alias", ct.spec, "--tracking-uri", emu.url, "--format", "json")]
    assert [r.code for r in results] == [0, 0, 0, 0], [r.text for r in results]
    throttle = emu.inject(Fault("429", times=100, retry_after="0"))
    results.append(cli("registry", "check", ct.spec, "--tracking-uri", emu.url))
    throttle.times = 0
    results.append(cli("registry", "check", ct.spec, "--tracking-uri", "http://127.0.0.1:9"))
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", SENTINEL + "-revoked")
    results.append(cli("registry", "alias", ct.spec, "--tracking-uri", emu.url, "--format", "json"))
    assert [r.code for r in results[4:]] == [1, 1, 1]
    assert "refused the credentials (401)" in results[-1].out  # --format json: the error on stdout
    assert clock.sleeps == [0.0] * 4 + [1.0, 2.0, 4.0, 8.0]  # 429s, then the unreachable server: retried
    assert all(a == f"Bearer {SENTINEL}" for a in emu.authorizations[:-1])
    for text in [r.text for r in results] + [output.read_text()]:
        assert SENTINEL not in text
        assert "Traceback" not in text
