"""Which model a `registry register --source` names, resolved and checked the way MLflow 3 does it,
before anything is created in the registry.

MLflow 3 logs a model as a *logged model* (``models:/m-<id>``, its own artifact location), no
longer under the run's artifacts. What the server accepts (``mlflow/server/handlers.py``,
``_create_model_version`` -> ``_validate_source_run`` / ``_validate_source_model``, MLflow 3.17):

- ``models:/<model_id>`` only together with the ``model_id`` field of CreateModelVersion
  (``mlflow/protos/model_registry.proto``), which must be that id;
- ``runs:/<run_id>/<path>`` only with ``run_id`` = that run; the server stores it as given, so a
  ``runs:/`` source whose run holds no model files there registers a version that does not load;
- a local path (or file:, or mlflow-artifacts:) only with a ``run_id`` whose artifacts hold it.

MLflow's own client (``mlflow/tracking/_model_registry/fluent.py``, ``_register_model``) resolves
``runs:/<run>/<path>``: when the run's artifacts hold ``<path>/MLmodel`` (MLflow 2, or a model
logged as run artifacts) it registers those; otherwise it searches the run's experiment for logged
models named ``<path>`` whose ``source_run_id`` is the run (``_get_logged_models_from_run``, the
REST endpoint POST ``logged-models/search``), takes the one logged at the largest step when there
are several (``run.outputs.model_outputs``), and registers ``models:/<model_id>`` with model_id and
run_id. This module does the same over REST, with two differences chosen here: the ``runs:/``
source is kept (not rewritten to the run's artifact URI) when the run's artifacts hold the model,
because the server resolves it itself; and a server without the logged-models endpoints (MLflow 2
answers 404 with no MLflow error body) keeps the ``runs:/`` source as MLflow 2's client does.
Unlike MLflow's client, which creates the registered model first, every check runs before the
caller creates anything, so a refused source leaves no empty registered model behind.
"""

from __future__ import annotations

import posixpath
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from generator.ct.model_registry import MISSING, ModelSource, RegistryError

Call = Callable[[str, str, Mapping[str, Any]], dict[str, Any]]  # (method, endpoint, params) -> answer
FIELD = "--source"
LOGGED_MODEL_FAILED = "LOGGED_MODEL_UPLOAD_FAILED"  # mlflow/protos/service.proto, LoggedModelStatus


def resolve(call: Call, base_url: str, source: str, run_id: str = "") -> ModelSource:
    """The source, run_id and model_id to register ``source`` with; RegistryError naming --source or
    --run-id when MLflow would refuse it or the version would not load."""
    parts = urllib.parse.urlsplit(source)
    if parts.scheme == "runs":
        return _runs_source(call, base_url, source, parts, run_id)
    if parts.scheme == "models":
        return _models_source(call, base_url, source, parts, run_id)
    if parts.scheme in ("", "file", "mlflow-artifacts") and not run_id:
        what = "an mlflow-artifacts: URI" if parts.scheme == "mlflow-artifacts" else "a local path"
        raise RegistryError(f"{FIELD} {source} is {what}: MLflow accepts one only with the run whose "
                            "artifacts hold it", "pass --run-id, or the model's runs:/ or models:/ URI")
    return ModelSource(source, run_id)


def _runs_source(call: Call, base_url: str, source: str, parts: urllib.parse.SplitResult,
                 run_id: str) -> ModelSource:
    run_of_source, _, artifact_path = parts.path.lstrip("/").partition("/")
    artifact_path = artifact_path.strip("/")
    if parts.netloc or not run_of_source or not artifact_path:
        raise RegistryError(f"{FIELD} {source} is not runs:/<run_id>/<artifact path>",
                            "for example runs:/6c1f0e2b/model: the run, then the name the model was logged with")
    if run_id and run_id != run_of_source:
        raise RegistryError(f"--run-id {run_id} is not the run of {FIELD} {source}",
                            "leave --run-id out: a runs:/ source names its run")
    answer = _get(call, "runs/get", {"run_id": run_of_source}, f"{FIELD} {source}: MLflow at {base_url} has no "
               f"run {run_of_source}", "check the run id; the training run must log to this tracking server")
    files = call("GET", "artifacts/list", {"run_id": run_of_source, "path": artifact_path}).get("files") or []
    if any(isinstance(f, dict) and posixpath.basename(str(f.get("path", ""))) == "MLmodel" for f in files):
        return ModelSource(source, run_of_source)  # the run's artifacts hold the model (MLflow 2 style)
    run = _object(answer, "run")
    info = _object(run, "info")
    experiment = str(info.get("experiment_id", ""))
    try:
        models = _logged_models_of_run(call, experiment, run_of_source, artifact_path)
    except RegistryError as exc:
        if exc.status == 404 and exc.error_code in ("", "ENDPOINT_NOT_FOUND"):
            return ModelSource(source, run_of_source)  # no logged models (MLflow 2): the server decides
        raise
    if not models:
        raise RegistryError(f"{FIELD} {source}: run {run_of_source} holds no model at {artifact_path!r}: neither "
                            f"an MLmodel in its artifacts nor a logged model named {artifact_path!r}",
                            "pass the name the model was logged with (log_model(name=...)), or its models:/m-... URI")
    if len(models) > 1:
        outputs = _object(run, "outputs")
        steps = {str(o.get("model_id")): int(o.get("step") or 0) for o in outputs.get("model_outputs") or []
                 if isinstance(o, dict)}
        if not steps:
            raise RegistryError(f"{FIELD} {source}: run {run_of_source} logged several models named "
                                f"{artifact_path!r} and says which at what step for none",
                                "pass the logged model's models:/m-... URI")
        models.sort(key=lambda m: steps.get(str(m.get("model_id")), -1))
    chosen = models[-1]
    return _logged_model_source(chosen, base_url, source)


def _models_source(call: Call, base_url: str, source: str, parts: urllib.parse.SplitResult,
                   run_id: str) -> ModelSource:
    path = parts.path.lstrip("/")
    if parts.netloc or "/" in path or "@" in path or not path:
        return ModelSource(source, run_id)  # models:/<name>/<version> or an alias: the server resolves it
    try:
        answer = call("GET", f"logged-models/{urllib.parse.quote(path, safe='')}", {})
    except RegistryError as exc:
        if exc.error_code == MISSING or (exc.status == 404 and exc.error_code in ("", "ENDPOINT_NOT_FOUND")):
            raise RegistryError(f"{FIELD} {source}: MLflow at {base_url} has no logged model {path}",
                                "pass the model_uri or model_id log_model returned (models:/m-...), logged "
                                "to this tracking server (MLflow 3)", error_code=exc.error_code,
                                status=exc.status) from None
        raise
    model = answer.get("model", {}).get("info") if isinstance(answer.get("model"), dict) else None
    if not isinstance(model, dict):
        raise RegistryError(f"{FIELD} {source}: MLflow's answer holds no logged model",
                            "is the tracking URI an MLflow 3 server?")
    resolved = _logged_model_source(model, base_url, source)
    if run_id and resolved.run_id and run_id != resolved.run_id:
        raise RegistryError(f"--run-id {run_id} is not the run that logged {FIELD} {source} ({resolved.run_id})",
                            "leave --run-id out: the logged model names its run")
    return ModelSource(resolved.source, run_id or resolved.run_id, resolved.model_id)


def _logged_model_source(info: Mapping[str, Any], base_url: str, source: str) -> ModelSource:
    model_id = str(info.get("model_id", ""))
    if not model_id:
        raise RegistryError(f"{FIELD} {source}: MLflow's logged model has no model_id",
                            "is the tracking URI an MLflow 3 server?")
    if info.get("status") == LOGGED_MODEL_FAILED:
        raise RegistryError(f"{FIELD} {source}: logged model {model_id} failed to upload its files "
                            f"({LOGGED_MODEL_FAILED}) in MLflow at {base_url}", "log the model again")
    return ModelSource(f"models:/{model_id}", str(info.get("source_run_id") or ""), model_id)


def _logged_models_of_run(call: Call, experiment: str, run_id: str, name: str) -> list[dict[str, Any]]:
    """The run's logged models named ``name``, as MLflow's _get_logged_models_from_run finds them."""
    quoted = name.replace("'", "\\'")
    found: list[dict[str, Any]] = []
    token = ""
    while True:
        body: dict[str, Any] = {"experiment_ids": [experiment], "filter": f"name = '{quoted}'"}
        if token:
            body["page_token"] = token
        answer = call("POST", "logged-models/search", body)
        for model in answer.get("models") or []:
            info = model.get("info") if isinstance(model, dict) else None
            if isinstance(info, dict) and info.get("source_run_id") == run_id:
                found.append(info)
        token = str(answer.get("next_page_token") or "")
        if not token:
            return found


def _object(holder: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = holder.get(key)
    return value if isinstance(value, dict) else {}


def _get(call: Call, endpoint: str, params: Mapping[str, Any], missing: str, hint: str) -> dict[str, Any]:
    try:
        return call("GET", endpoint, params)
    except RegistryError as exc:
        if exc.error_code == MISSING:
            raise RegistryError(missing, hint, error_code=exc.error_code, status=exc.status) from None
        raise
