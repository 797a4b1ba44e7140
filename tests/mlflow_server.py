"""A real MLflow tracking server for the registry tests, and models logged to it with MLflow itself.

.ci/install-tools installs mlflow[auth] (3.17.2, every dependency pinned) into <repo>/.tools/mlflow,
a venv of its own. Without it the tests that need the server are skipped on a developer machine
and FAIL when CI is set, so that .ci/run cannot pass without them.

The server runs as deployments that protect the registry run it: ``--app-name basic-auth``
(``mlflow/server/auth``), which takes HTTP basic auth only, with a SQLite backend store and a
local artifact root, ``--workers 1``. Gotchas found with 3.17.2:

* the basic-auth app needs MLFLOW_FLASK_SERVER_SECRET_KEY (CSRF) and an admin password in its
  config (MLFLOW_AUTH_CONFIG_PATH: ``admin_password``) or it refuses to start; it needs the
  ``auth`` extra (Flask-WTF) too;
* it checks every request's password with PBKDF2 (up to a second or more per request on a loaded
  machine). ``auth_cache_ttl_seconds`` would cache verified passwords, but with it set the server
  answers a bearer token with a 500 (``_auth_cache_key`` encodes the missing password) instead of
  the 401 it gives with the default (no cache): the default is kept, as deployments run it;
* start-up (SQLite migrations for both stores) takes 7-30 s depending on the machine's load.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conformance.validators import in_ci

REPO = Path(__file__).resolve().parent.parent
MLFLOW_VENV = REPO / ".tools" / "mlflow"
ADMIN, ADMIN_PASSWORD = "admin", "mlopsgen-Admin-pw-1"
READY_DEADLINE_S = 180.0  # generous: start-up on a loaded CI machine takes tens of seconds
SCRIPT_TIMEOUT_S = 300

# Logs two models in one run, as training code does with MLflow 3 and with MLflow 2's habits:
# `log_model(name="model")` (a logged model, models:/m-..., nothing under the run's artifacts) and
# a saved model uploaded as the run's artifacts under "legacy" (runs:/<run>/legacy/MLmodel).
LOG_MODELS = """
import json, sys, tempfile
import mlflow, mlflow.pyfunc

class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input

mlflow.set_experiment("mlopsgen-registry-test")
with mlflow.start_run() as run:
    info = mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=[])
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.pyfunc.save_model(tmp + "/legacy", python_model=Echo(), pip_requirements=[])
        mlflow.log_artifacts(tmp + "/legacy", artifact_path="legacy")
print(json.dumps({"run_id": run.info.run_id, "model_id": info.model_id, "model_uri": info.model_uri}))
"""

# Loads registered versions as a serving image would, and predicts: a version whose source has no
# model files fails here.
LOAD_MODELS = """
import json, sys
import mlflow.pyfunc
for uri in sys.argv[1:]:
    assert list(mlflow.pyfunc.load_model(uri).predict([1, 2])) == [1, 2], uri
print(json.dumps({"loaded": sys.argv[1:]}))
"""


def mlflow_venv() -> Path:
    if (MLFLOW_VENV / "bin" / "mlflow").is_file():
        return MLFLOW_VENV
    reason = f"MLflow is not installed in {MLFLOW_VENV}: run bash .ci/install-tools"
    if in_ci():
        pytest.fail(reason + " (CI is set: the real MLflow server tests must run)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class MlflowServer:
    url: str
    venv: Path
    workdir: Path

    def env(self, username: str = ADMIN, password: str = ADMIN_PASSWORD) -> dict[str, str]:
        """The environment for MLflow's own client (and mlopsgen) talking to this server."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        return {**env, "MLFLOW_TRACKING_URI": self.url, "MLFLOW_TRACKING_USERNAME": username,
                "MLFLOW_TRACKING_PASSWORD": password}

    def python(self, script: str, *args: str) -> Any:
        """Run a script with the server's MLflow; its last stdout line, parsed as JSON."""
        proc = subprocess.run([str(self.venv / "bin" / "python"), "-W", "ignore", "-c", script, *args],
                              env=self.env(), cwd=self.workdir, capture_output=True, text=True,
                              timeout=SCRIPT_TIMEOUT_S, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def api(self, method: str, endpoint: str, params: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """One REST call as the admin: (HTTP status, JSON answer)."""
        url = f"{self.url}/api/2.0/mlflow/{endpoint}"
        data = None
        if method == "GET" and params:
            url += "?" + urllib.parse.urlencode(params)
        elif params is not None:
            data = json.dumps(params).encode()
        auth = base64.b64encode(f"{ADMIN}:{ADMIN_PASSWORD}".encode()).decode()
        request = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Basic {auth}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return int(response.status), json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read() or b"{}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """`mlflow server` runs uvicorn as a child: signal the session it leads, then reap it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    else:
        with contextlib.suppress(ProcessLookupError):  # the CLI exited; its uvicorn child may not have
            os.killpg(proc.pid, signal.SIGTERM)


def start_server(workdir: Path) -> Iterator[MlflowServer]:
    venv = mlflow_venv()
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "basic_auth.ini"
    config.write_text("[mlflow]\ndefault_permission = READ\n"
                      f"database_uri = sqlite:///{workdir / 'users.db'}\n"
                      f"admin_username = {ADMIN}\nadmin_password = {ADMIN_PASSWORD}\n"
                      "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n",
                      encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_AUTH_CONFIG_PATH=str(config), MLFLOW_FLASK_SERVER_SECRET_KEY="mlopsgen-test-only")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    with log.open("wb") as log_handle:
        proc = subprocess.Popen(
            [str(venv / "bin" / "mlflow"), "server", "--app-name", "basic-auth", "--workers", "1",
             "--host", "127.0.0.1", "--port", str(port), "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
             "--default-artifact-root", str(workdir / "artifacts")],
            stdout=log_handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir, env=env,
            start_new_session=True)
    try:
        deadline = time.monotonic() + READY_DEADLINE_S
        while proc.poll() is None and not _healthy(url):
            if time.monotonic() > deadline:
                raise AssertionError(f"mlflow server not healthy after {READY_DEADLINE_S:.0f}s at {url}:\n"
                                     f"{log.read_text('utf-8', 'replace')[-4000:]}")
            time.sleep(0.25)
        if proc.poll() is not None:
            raise AssertionError(f"mlflow server exited ({proc.returncode}):\n"
                                 f"{log.read_text('utf-8', 'replace')[-4000:]}")
        yield MlflowServer(url, venv, workdir)
    finally:
        _stop(proc)
