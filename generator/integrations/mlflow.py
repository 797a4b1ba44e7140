"""The MLflow Model Registry through its REST API (the 2.0 endpoints), with urllib: no MLflow client.

A new version's source is resolved and checked first, as MLflow 3 does it (runs:/ sources to the
run's logged model, models:/m-... with its model_id): generator/integrations/mlflow_sources.py.

Endpoints and fields are those of MLflow's ``mlflow/protos/model_registry.proto``: versions are
strings numbered from 1 per registered model, and a version's status is PENDING_REGISTRATION,
READY or FAILED_REGISTRATION. Errors come back as ``{"error_code": ..., "message": ...}`` with the
HTTP status of ``mlflow/exceptions.py``: RESOURCE_DOES_NOT_EXIST 404, RESOURCE_ALREADY_EXISTS and
INVALID_PARAMETER_VALUE 400, REQUEST_LIMIT_EXCEEDED 429, TEMPORARILY_UNAVAILABLE 503.

Credentials go as MLflow's own client sends them (``mlflow/utils/rest_utils.py``): basic auth when
MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD are both set, else ``Authorization: Bearer``
with MLFLOW_TRACKING_TOKEN. A server started with ``--app-name basic-auth`` (``mlflow/server/auth``)
takes only basic auth and answers 401 to a bearer token; a token is for servers behind a proxy or
a platform that checks one. They go nowhere but that header: redirects are not followed (urllib
would replay the header to wherever the redirect points) and every message is scrubbed of them.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

from generator import __version__
from generator.ct.model_registry import FAILED, PENDING, READY, ModelSource, ModelVersion, RegistryError
from generator.frozen import frozen
from generator.integrations import mlflow_sources

# the registry's vocabulary lives in generator/ct/model_registry.py; re-exported for callers of this client
__all__ = ["FAILED", "PENDING", "READY", "Credentials", "MlflowRegistry", "ModelSource", "ModelVersion",
           "RegistryError"]

API = "/api/2.0/mlflow/"
RETRY_STATUSES = frozenset({429, 503})  # the server did not act on the request: safe to send again
MAX_BODY = 1 << 20
CREDENTIAL_HINT = "set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
BEARER_REFUSED_HINT = ("a token was sent; MLflow's own auth (mlflow server --app-name basic-auth) takes only "
                       "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (training.registry.auth: basic)")


@frozen
class Credentials:
    token: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        env = os.environ if environ is None else environ
        return cls(env.get("MLFLOW_TRACKING_TOKEN", ""), env.get("MLFLOW_TRACKING_USERNAME", ""),
                   env.get("MLFLOW_TRACKING_PASSWORD", ""))

    def header(self) -> str | None:
        if self.username and self.password:
            pair = f"{self.username}:{self.password}".encode()
            return "Basic " + base64.standard_b64encode(pair).decode("ascii")
        if self.token:
            return f"Bearer {self.token}"
        return None

    @property
    def is_bearer(self) -> bool:
        return (self.header() or "").startswith("Bearer ")

    def scrub(self, text: str) -> str:
        header = self.header()
        for secret in (header.split(" ", 1)[1] if header else "", self.token, self.password):
            if secret:
                text = text.replace(secret, "***")
        return text


def _model_version(body: Mapping[str, Any], what: str) -> ModelVersion:
    """Read an answer's ``model_version`` defensively: MLflow leaves out empty fields."""
    mv = body.get("model_version")
    version = mv.get("version") if isinstance(mv, dict) else None
    if not isinstance(mv, dict) or isinstance(version, bool) or not isinstance(version, (str, int)):
        raise RegistryError(f"{what}: the answer holds no model version", "is the tracking URI an MLflow server?")
    tags = {str(t.get("key")): str(t.get("value", "")) for t in mv.get("tags") or []
            if isinstance(t, dict) and "key" in t}
    return ModelVersion(name=str(mv.get("name", "")), version=str(version), status=str(mv.get("status", "")),
                        status_message=str(mv.get("status_message") or ""), source=str(mv.get("source") or ""),
                        run_id=str(mv.get("run_id") or ""), tags=tags,
                        aliases=tuple(str(a) for a in mv.get("aliases") or ()))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx then surfaces as an HTTPError


class MlflowRegistry:
    """One MLflow tracking server, a generator.ct.model_registry.ModelRegistry. ``sleep`` and ``clock``
    are injectable so tests run without waiting."""

    poll_interval = 1.0  # first wait between polls of a registering version; doubles up to poll_max
    poll_max = 15.0

    def __init__(self, base_url: str, credentials: Credentials | None = None, *, timeout: float = 30.0,
                 sleep: Callable[[float], object] | None = None, clock: Callable[[], float] | None = None,
                 attempts: int = 5, max_retry_after: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials or Credentials()
        self.timeout = timeout
        self.attempts = max(attempts, 1)
        self.max_retry_after = max_retry_after
        self._sleep = sleep or time.sleep
        self._clock = clock or time.monotonic
        self._opener = urllib.request.build_opener(_NoRedirect())

    # ---- the registry ----------------------------------------------------------------------------

    def ensure_registered_model(self, name: str, description: str = "") -> bool:
        """Create the registered model; False when it already existed."""
        body: dict[str, Any] = {"name": name}
        if description:
            body["description"] = description
        try:
            self._call("POST", "registered-models/create", body)
        except RegistryError as exc:
            if exc.error_code == "RESOURCE_ALREADY_EXISTS":
                return False
            raise
        return True

    def delete_registered_model(self, name: str) -> None:
        self._call("DELETE", "registered-models/delete", {"name": name}, idempotent=False)

    def resolve_source(self, source: str, run_id: str = "") -> ModelSource:
        """What to create a version of ``source`` from; RegistryError naming --source when MLflow would
        refuse it. Only reads: nothing is created."""
        return mlflow_sources.resolve(self._read, self.base_url, source, run_id)

    def _read(self, method: str, endpoint: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._call(method, endpoint, params)

    def create_version(self, name: str, source: str, *, run_id: str = "", model_id: str = "",
                       tags: Mapping[str, str] | None = None, description: str = "") -> ModelVersion:
        body: dict[str, Any] = {"name": name, "source": source}
        if run_id:
            body["run_id"] = run_id
        if model_id:
            body["model_id"] = model_id
        if tags:
            body["tags"] = [{"key": k, "value": v} for k, v in tags.items()]
        if description:
            body["description"] = description
        # not idempotent: a request that timed out may have created a version, so it is not re-sent
        answer = self._call("POST", "model-versions/create", body, idempotent=False)
        return _model_version(answer, f"registering {name}")

    def get_version(self, name: str, version: str) -> ModelVersion:
        answer = self._call("GET", "model-versions/get", {"name": name, "version": version})
        return _model_version(answer, f"{name} version {version}")

    def wait_ready(self, name: str, version: str, *, timeout: float = 600.0) -> ModelVersion:
        """Poll until READY, with backoff; FAILED_REGISTRATION or the timeout is an error."""
        deadline = self._clock() + timeout
        delay = self.poll_interval
        while True:
            mv = self.get_version(name, version)
            if mv.status == READY:
                return mv
            if mv.status == FAILED:
                reason = f": {mv.status_message}" if mv.status_message else ""
                raise RegistryError(f"{name} version {version} failed to register (FAILED_REGISTRATION){reason}",
                                    "check that the MLflow server can read the model's source URI",
                                    error_code=FAILED, status=200)
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise RegistryError(f"{name} version {version} is still {mv.status or 'not ready'} after "
                                    f"{timeout:g}s", "MLflow is still copying the model; check again later",
                                    error_code=mv.status, status=200)
            self._sleep(min(delay, remaining))
            delay = min(delay * 2, self.poll_max)

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self._call("POST", "model-versions/set-tag", {"name": name, "version": version, "key": key, "value": value})

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._call("POST", "registered-models/alias", {"name": name, "alias": alias, "version": version})

    def delete_alias(self, name: str, alias: str) -> None:
        self._call("DELETE", "registered-models/alias", {"name": name, "alias": alias})

    def version_by_alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version an alias points at; None when the alias is not set."""
        try:
            answer = self._call("GET", "registered-models/alias", {"name": name, "alias": alias})
        except RegistryError as exc:
            # MLflow's stores answer INVALID_PARAMETER_VALUE "Registered model alias <a> not found."
            if exc.error_code == "INVALID_PARAMETER_VALUE" and "alias" in exc.message and "not found" in exc.message:
                return None
            raise
        return _model_version(answer, f"{name}@{alias}")

    # ---- HTTP ------------------------------------------------------------------------------------

    def _call(self, method: str, endpoint: str, params: Mapping[str, Any], *,
              idempotent: bool = True) -> dict[str, Any]:
        url = self.base_url + API + endpoint
        data = None
        headers = {"Accept": "application/json", "User-Agent": f"mlopsgen/{__version__}"}
        if method == "GET":
            url += "?" + urllib.parse.urlencode(params)
        else:
            data = json.dumps(params).encode()
            headers["Content-Type"] = "application/json"
        auth = self.credentials.header()
        if auth:
            headers["Authorization"] = auth
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    raw = response.read(MAX_BODY)
            except urllib.error.HTTPError as exc:
                with exc:
                    raw = exc.read(MAX_BODY)
                    status, retry_after = exc.code, exc.headers.get("Retry-After")
                if status in RETRY_STATUSES and attempt < self.attempts:
                    self._sleep(self._retry_delay(retry_after, attempt))
                    continue
                raise self._error(endpoint, status, raw, exc.headers.get("Location", "")) from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
                if idempotent and attempt < self.attempts:
                    self._sleep(self._retry_delay(None, attempt))
                    continue
                reason = getattr(exc, "reason", exc)
                raise RegistryError(self.credentials.scrub(f"cannot reach MLflow at {self.base_url} ({endpoint}): "
                                                           f"{reason}"),
                                    "check the tracking URI and that this runner can reach it") from None
            try:
                answer = json.loads(raw) if raw.strip() else {}
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise RegistryError(f"MLflow at {self.base_url} answered {endpoint} with something that is not "
                                    "an MLflow API response", "is the tracking URI the MLflow server's address?")
            return answer
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry_delay(self, retry_after: str | None, attempt: int) -> float:
        """Retry-After (seconds or an HTTP date) when given, else exponential backoff; bounded either way."""
        delay = float(2 ** (attempt - 1))
        if retry_after:
            value = retry_after.strip()
            if value.isdigit():
                delay = float(value)
            else:
                try:
                    when = email.utils.parsedate_to_datetime(value)
                    delay = max(when.timestamp() - time.time(), 0.0)
                except (TypeError, ValueError, IndexError):
                    pass
        return min(delay, self.max_retry_after)

    def _error(self, endpoint: str, status: int, raw: bytes, location: str) -> RegistryError:
        scrub = self.credentials.scrub
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if isinstance(body, dict) and "error_code" in body:
            code, message = str(body["error_code"]), str(body.get("message", ""))
            return RegistryError(scrub(f"MLflow {endpoint}: {code}: {message}"), _hint(status, code),
                                 error_code=code, status=status)
        if status == 401:
            return RegistryError(f"MLflow at {self.base_url} refused the credentials (401) for {endpoint}",
                                 BEARER_REFUSED_HINT if self.credentials.is_bearer else CREDENTIAL_HINT,
                                 status=status)
        if status == 403:
            return RegistryError(f"MLflow at {self.base_url} denied {endpoint} (403)",
                                 "the credentials need edit permission on the registered model", status=status)
        if 300 <= status < 400:
            return RegistryError(scrub(f"MLflow at {self.base_url} redirected {endpoint} to {location or '?'} "
                                       f"(HTTP {status}); redirects are not followed"),
                                 "set the tracking URI to the address the server redirects to", status=status)
        return RegistryError(f"MLflow at {self.base_url} answered HTTP {status} to {endpoint}, not with an MLflow "
                             "API error", "is the tracking URI the MLflow server's address (without /api/...)?",
                             status=status)


def _hint(status: int, code: str) -> str:
    if status in (401, 403) or code in ("UNAUTHENTICATED", "PERMISSION_DENIED", "CUSTOMER_UNAUTHORIZED"):
        return CREDENTIAL_HINT
    if status in RETRY_STATUSES:
        return "MLflow is overloaded or unavailable; the request was retried, run it again later"
    return ""
