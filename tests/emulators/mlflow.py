"""A small MLflow tracking server: the Model Registry REST API (2.0), over real HTTP on 127.0.0.1.

What it answers, and how, follows MLflow:

- Endpoints, under ``/api/2.0/mlflow/`` (``mlflow/protos/model_registry.proto``):
  POST ``registered-models/create``, GET ``registered-models/get``, POST ``model-versions/create``,
  GET ``model-versions/get``, POST ``model-versions/set-tag``, and on ``registered-models/alias``
  POST (set), DELETE (delete) and GET (the version an alias points at). GET parameters come in the
  query string, the others as a JSON body, as MLflow's client sends them (``call_endpoint``).
  Unknown paths answer Flask's HTML 404, a known path with another method Flask's HTML 405.
- Answers are proto messages as JSON: unset and empty fields are left out, timestamps are integer
  milliseconds, ``version`` is a string numbered from 1 per registered model, ``status`` one of
  PENDING_REGISTRATION, READY, FAILED_REGISTRATION, ``current_stage`` "None".
- Errors are ``{"error_code": ..., "message": ...}`` with the status of ``mlflow/exceptions.py``
  (RESOURCE_DOES_NOT_EXIST 404; RESOURCE_ALREADY_EXISTS, INVALID_PARAMETER_VALUE 400;
  REQUEST_LIMIT_EXCEEDED 429; TEMPORARILY_UNAVAILABLE 503) and the messages of MLflow's stores and
  validators: "Registered Model (name=m) already exists.", "Registered Model with name=m not found",
  "Model Version (name=m, version=3) not found", "Registered model alias a not found." (400, not
  404), "Missing value for required parameter 'name'. See the API docs ...", "Parameter 'version'
  must be an integer, got 'x'.", and alias names as ``_validate_model_alias_name`` checks them.
- Auth, when a token or users are configured: ``Authorization: Bearer <token>`` (what an auth proxy
  or Databricks takes) or ``Basic`` user:password (MLflow's basic-auth app); anything else answers
  what ``mlflow/server/auth`` answers: 401, a text body and ``WWW-Authenticate: Basic realm="mlflow"``.

Registration is asynchronous as on servers that copy the artifacts (Databricks): a new version is
PENDING_REGISTRATION and turns READY (or FAILED_REGISTRATION when ``fail_registration`` holds a
status message) once ``ready_after`` GETs of model-versions/get have seen it pending. With
``ready_after=0`` it is READY at once, as MLflow's own SQL and file stores do.

Test hooks: ``models`` (the state), ``add_version``, ``version``, ``requests`` (method, raw path
with query), ``authorizations`` (the Authorization header of each request) and
``inject(Fault(...))`` for 429/503 with or without Retry-After.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import pytest

from emulators.server import DispatchingHandler, LoopbackServer

API = "/api/2.0/mlflow/"
READY, PENDING, FAILED = "READY", "PENDING_REGISTRATION", "FAILED_REGISTRATION"
MLFLOW_TOKEN = "mlflow-test-token"
MLFLOW_USER, MLFLOW_PASSWORD = "ci-bot", "ci-bot-password"
NOT_AUTHENTICATED = ("You are not authenticated. Please see "
                     "https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow "
                     "on how to authenticate.")
STATUS = {"RESOURCE_DOES_NOT_EXIST": 404, "RESOURCE_ALREADY_EXISTS": 400, "INVALID_PARAMETER_VALUE": 400,
          "REQUEST_LIMIT_EXCEEDED": 429, "TEMPORARILY_UNAVAILABLE": 503, "INTERNAL_ERROR": 500}
FLASK_404 = (b"<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested "
             b"URL was not found on the server. If you entered the URL manually please check your spelling and "
             b"try again.</p>\n")
FLASK_405 = (b"<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n"
             b"<p>The method is not allowed for the requested URL.</p>\n")
_ALIAS = re.compile(r"^[\w\-]*$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
_TAG_KEY = re.compile(r"^[/\w.\- :]*$")


class MlflowError(Exception):
    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(error_code, message)
        self.status = STATUS[error_code]
        self.body = {"error_code": error_code, "message": message}


def _missing(param: str) -> MlflowError:
    return MlflowError("INVALID_PARAMETER_VALUE", f"Missing value for required parameter '{param}'. "
                       "See the API docs for more information about request parameters.")


def _now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Fault:
    """Answer the next ``times`` requests (whose path matches ``match``, a regex, when given) with 429
    REQUEST_LIMIT_EXCEEDED or 503 TEMPORARILY_UNAVAILABLE, and Retry-After unless it is None."""

    kind: str  # "429" | "503"
    times: int = 1
    retry_after: str | None = "1"
    match: str | None = None
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("429", "503"):
            raise ValueError(f"unknown fault kind {self.kind!r}; expected '429' or '503'")

    def applies(self, path: str) -> bool:
        return self.fired < self.times and (self.match is None or re.search(self.match, path) is not None)


@dataclass
class Version:
    name: str
    version: str
    source: str
    run_id: str | None
    description: str | None
    run_link: str | None
    status: str
    fail_message: str | None  # FAILED_REGISTRATION's status_message once registration ends
    tags: dict[str, str] = field(default_factory=dict)
    settles: bool = True  # False: seeded by a test, the status stays as set
    pending_gets: int = 0
    creation_timestamp: int = field(default_factory=_now_ms)
    last_updated_timestamp: int = field(default_factory=_now_ms)


@dataclass
class Model:
    name: str
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    versions: list[Version] = field(default_factory=list)
    creation_timestamp: int = field(default_factory=_now_ms)
    last_updated_timestamp: int = field(default_factory=_now_ms)


class _Handler(DispatchingHandler):
    emulator: MlflowEmulator

    do_POST = do_DELETE = do_PATCH = do_PUT = DispatchingHandler.do_GET  # noqa: N815


class MlflowEmulator(LoopbackServer):
    """``with MlflowEmulator(token="t") as mlflow: url = mlflow.url`` (the tracking URI)."""

    handler = _Handler
    thread_name = "mlflow-emulator"

    def __init__(self, *, token: str | None = None, users: dict[str, str] | None = None, ready_after: int = 0,
                 fail_registration: str | None = None) -> None:
        self.token = token
        self.users = dict(users or {})
        self.ready_after = ready_after
        self.fail_registration = fail_registration
        self.models: dict[str, Model] = {}
        self.requests: list[tuple[str, str]] = []
        self.authorizations: list[str | None] = []
        self.url = ""
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._routes = {
            "registered-models/create": {"POST": self._create_model},
            "registered-models/get": {"GET": self._get_model},
            "model-versions/create": {"POST": self._create_version},
            "model-versions/get": {"GET": self._get_version},
            "model-versions/set-tag": {"POST": self._set_version_tag},
            "registered-models/alias": {"POST": self._set_alias, "DELETE": self._delete_alias,
                                        "GET": self._get_by_alias},
        }

    # ---- test hooks ------------------------------------------------------------------------------

    def add_version(self, name: str, source: str = "s3://models/seeded", *, status: str = READY,
                    status_message: str | None = None) -> str:
        """Someone else registered a version (creating the model if needed); its status stays as given."""
        with self._lock:
            model = self.models.setdefault(name, Model(name, None))
            mv = Version(name, str(len(model.versions) + 1), source, None, None, None, status,
                         status_message if status == FAILED else None, settles=False)
            model.versions.append(mv)
            return mv.version

    def version(self, name: str, version: str) -> Version:
        return self._find_version(name, version)

    def inject(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def reset_requests(self) -> None:
        with self._lock:
            self.requests.clear()
            self.authorizations.clear()

    # ---- HTTP plumbing ---------------------------------------------------------------------------

    def _dispatch(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        method, raw = handler.command, handler.path
        path, _, query = raw.partition("?")
        with self._lock:
            self.requests.append((method, raw))
            self.authorizations.append(handler.headers.get("Authorization"))
            fault = next((f for f in self._faults if f.applies(path)), None)
            if fault is not None:
                fault.fired += 1
        headers: dict[str, str] = {}
        payload: Any
        if not self._authenticated(handler.headers.get("Authorization") or ""):
            status, payload = 401, NOT_AUTHENTICATED.encode()
            headers = {"Content-Type": "text/html; charset=utf-8", "WWW-Authenticate": 'Basic realm="mlflow"'}
        elif fault is not None:
            code = "REQUEST_LIMIT_EXCEEDED" if fault.kind == "429" else "TEMPORARILY_UNAVAILABLE"
            text = "Too many requests; retry later." if fault.kind == "429" else "Temporarily unavailable."
            status, payload = STATUS[code], {"error_code": code, "message": text}
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
        else:
            try:
                status, payload, headers = self._handle(method, path, query, body)
            except MlflowError as exc:
                status, payload = exc.status, exc.body
            except Exception:  # a bug in the emulator: answer as MLflow would, keep the trace visible
                traceback.print_exc()
                status, payload = 500, {"error_code": "INTERNAL_ERROR", "message": "emulator bug"}
        self._send(handler, status, payload, headers)

    @staticmethod
    def _send(handler: _Handler, status: int, payload: Any, headers: dict[str, str]) -> None:
        if isinstance(payload, bytes):
            data = payload
        else:
            data = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", **headers}
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _authenticated(self, authorization: str) -> bool:
        if self.token is None and not self.users:
            return True
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return self.token is not None and credential.strip() == self.token
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(credential.strip(), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return self.users.get(user) == password and bool(password)
        return False

    def _handle(self, method: str, path: str, query: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        routes = self._routes.get(path[len(API):]) if path.startswith(API) else None
        if routes is None:
            return 404, FLASK_404, {"Content-Type": "text/html; charset=utf-8"}
        if method not in routes:
            return 405, FLASK_405, {"Content-Type": "text/html; charset=utf-8", "Allow": ", ".join(sorted(routes))}
        if method == "GET":
            params: Any = dict(parse_qsl(query, keep_blank_values=True))
        else:
            try:
                params = json.loads(body) if body.strip() else {}
            except ValueError:
                raise MlflowError("INVALID_PARAMETER_VALUE", "Malformed request: the body is not JSON") from None
            if not isinstance(params, dict):
                raise MlflowError("INVALID_PARAMETER_VALUE", "Malformed request: the body is not a JSON object")
        with self._lock:
            return 200, routes[method](params), {}

    # ---- validation, as MLflow's request schemas and stores do it ---------------------------------

    @staticmethod
    def _string(params: dict[str, Any], name: str, required: bool = True) -> str | None:
        value = params.get(name)
        if value is None or value == "":
            if required:
                raise _missing(name)
            return None
        if not isinstance(value, str):
            raise MlflowError("INVALID_PARAMETER_VALUE",
                              f"Invalid value {json.dumps(value)} for parameter '{name}' supplied. "
                              f"Hint: Value was of type '{type(value).__name__}'. See the API docs for more "
                              "information about request parameters.")
        return value

    def _version_number(self, params: dict[str, Any]) -> str:
        version = self._string(params, "version")
        assert version is not None
        try:
            return str(int(version))
        except ValueError:
            raise MlflowError("INVALID_PARAMETER_VALUE",
                              f"Parameter 'version' must be an integer, got '{version}'.") from None

    @staticmethod
    def _tag_key(key: Any) -> str:
        if not isinstance(key, str) or not key:
            raise _missing("key")
        if not _TAG_KEY.match(key) or len(key) > 250:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid value {json.dumps(key)} for parameter 'key' "
                              "supplied: Names may only contain alphanumerics, underscores (_), dashes (-), "
                              "periods (.), spaces ( ), colon(:) and slashes (/).")
        return key

    @staticmethod
    def _alias_name(alias: str) -> str:
        if not _ALIAS.match(alias):
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid alias name: '{alias}'. Names may only contain "
                              "alphanumerics, underscores (_), and dashes (-).")
        if len(alias) > 255:
            raise MlflowError("INVALID_PARAMETER_VALUE",
                              "'Registered model alias name' exceeds the maximum length of 255 characters")
        if alias.lower() == "latest":
            raise MlflowError("INVALID_PARAMETER_VALUE", "'latest' alias name (case insensitive) is reserved.")
        if _VERSION_ALIAS.match(alias):
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Version alias name '{alias}' is reserved.")
        return alias

    def _find_model(self, name: str) -> Model:
        model = self.models.get(name)
        if model is None:
            raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Registered Model with name={name} not found")
        return model

    def _find_version(self, name: str, version: str) -> Version:
        model = self.models.get(name)
        for mv in model.versions if model else ():
            if mv.version == version:
                return mv
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"Model Version (name={name}, version={version}) not found")

    # ---- entities as MLflow serialises them: unset and empty fields left out ---------------------

    def _version_json(self, mv: Version) -> dict[str, Any]:
        model = self.models[mv.name]
        out: dict[str, Any] = {"name": mv.name, "version": mv.version,
                               "creation_timestamp": mv.creation_timestamp,
                               "last_updated_timestamp": mv.last_updated_timestamp, "current_stage": "None",
                               "description": mv.description, "source": mv.source, "run_id": mv.run_id,
                               "status": mv.status,
                               "status_message": mv.fail_message if mv.status == FAILED else None,
                               "tags": [{"key": k, "value": v} for k, v in mv.tags.items()],
                               "run_link": mv.run_link,
                               "aliases": sorted(a for a, v in model.aliases.items() if v == mv.version)}
        return {k: v for k, v in out.items() if v not in (None, "", [])}

    def _model_json(self, model: Model) -> dict[str, Any]:
        ready = [mv for mv in model.versions if mv.status == READY]
        out: dict[str, Any] = {"name": model.name, "creation_timestamp": model.creation_timestamp,
                               "last_updated_timestamp": model.last_updated_timestamp,
                               "description": model.description,
                               "latest_versions": [self._version_json(ready[-1])] if ready else [],
                               "tags": [{"key": k, "value": v} for k, v in model.tags.items()],
                               "aliases": [{"alias": a, "version": v} for a, v in sorted(model.aliases.items())]}
        return {k: v for k, v in out.items() if v not in (None, "", [])}

    @staticmethod
    def _tags(params: dict[str, Any]) -> dict[str, str]:
        tags = params.get("tags") or []
        if not isinstance(tags, list):
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid value {json.dumps(tags)} for parameter 'tags' "
                              "supplied. See the API docs for more information about request parameters.")
        return {MlflowEmulator._tag_key(t.get("key") if isinstance(t, dict) else None): str(t.get("value", ""))
                for t in tags}

    # ---- endpoints -------------------------------------------------------------------------------

    def _create_model(self, params: dict[str, Any]) -> dict[str, Any]:
        name = self._string(params, "name")
        assert name is not None
        tags = self._tags(params)
        if name in self.models:
            raise MlflowError("RESOURCE_ALREADY_EXISTS", f"Registered Model (name={name}) already exists.")
        model = self.models[name] = Model(name, self._string(params, "description", required=False), tags)
        return {"registered_model": self._model_json(model)}

    def _get_model(self, params: dict[str, Any]) -> dict[str, Any]:
        name = self._string(params, "name")
        assert name is not None
        return {"registered_model": self._model_json(self._find_model(name))}

    def _create_version(self, params: dict[str, Any]) -> dict[str, Any]:
        name, source = self._string(params, "name"), self._string(params, "source")
        assert name is not None and source is not None
        tags = self._tags(params)
        model = self._find_model(name)
        pending = self.ready_after > 0
        fail = self.fail_registration
        status = PENDING if pending else (FAILED if fail is not None else READY)
        mv = Version(name, str(len(model.versions) + 1), source, self._string(params, "run_id", required=False),
                     self._string(params, "description", required=False),
                     self._string(params, "run_link", required=False), status, fail, tags)
        model.versions.append(mv)
        model.last_updated_timestamp = mv.creation_timestamp
        return {"model_version": self._version_json(mv)}

    def _get_version(self, params: dict[str, Any]) -> dict[str, Any]:
        name = self._string(params, "name")
        assert name is not None
        mv = self._find_version(name, self._version_number(params))
        if mv.status == PENDING and mv.settles:
            if mv.pending_gets >= self.ready_after:
                mv.status = FAILED if mv.fail_message is not None else READY
                mv.last_updated_timestamp = _now_ms()
            else:
                mv.pending_gets += 1
        return {"model_version": self._version_json(mv)}

    def _set_version_tag(self, params: dict[str, Any]) -> dict[str, Any]:
        name = self._string(params, "name")
        version = self._version_number(params)
        key = self._tag_key(self._string(params, "key"))
        value = params.get("value")
        if value is None:
            raise _missing("value")
        assert name is not None
        mv = self._find_version(name, version)
        mv.tags[key] = self._string(params, "value", required=False) or ""
        mv.last_updated_timestamp = _now_ms()
        return {}

    def _set_alias(self, params: dict[str, Any]) -> dict[str, Any]:
        name, alias = self._string(params, "name"), self._string(params, "alias")
        assert name is not None and alias is not None
        version = self._version_number(params)
        self._alias_name(alias)
        model = self._find_model(name)
        self._find_version(name, version)
        model.aliases[alias] = version
        return {}

    def _delete_alias(self, params: dict[str, Any]) -> dict[str, Any]:
        name, alias = self._string(params, "name"), self._string(params, "alias")
        assert name is not None and alias is not None
        self._find_model(name).aliases.pop(alias, None)
        return {}

    def _get_by_alias(self, params: dict[str, Any]) -> dict[str, Any]:
        name, alias = self._string(params, "name"), self._string(params, "alias")
        assert name is not None and alias is not None
        model = self._find_model(name)
        if alias not in model.aliases:
            raise MlflowError("INVALID_PARAMETER_VALUE", f"Registered model alias {alias} not found.")
        return {"model_version": self._version_json(self._find_version(name, model.aliases[alias]))}


@pytest.fixture(name="mlflow_emulator")
def mlflow_emulator_fixture(request: pytest.FixtureRequest) -> Iterator[MlflowEmulator]:
    """An MLflow registry on 127.0.0.1 taking the bearer token MLFLOW_TOKEN, or basic auth as
    MLFLOW_USER/MLFLOW_PASSWORD. Parametrize it indirectly with MlflowEmulator keyword arguments."""
    options: dict[str, Any] = {"token": MLFLOW_TOKEN, "users": {MLFLOW_USER: MLFLOW_PASSWORD},
                               **(getattr(request, "param", None) or {})}
    with MlflowEmulator(**options) as emulator:
        yield emulator
