"""The model registry as continuous training sees it: versions, their status, aliases, its errors.

generator/ct/registration.py decides what to register and when a version may be deployed; it
talks to the registry through the ModelRegistry protocol defined here, so that continuous
training does not import the HTTP client. generator/integrations/mlflow.py implements it over
MLflow's REST API. Statuses are MLflow's (``mlflow/protos/model_registry.proto``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Protocol

from generator.errors import UserError
from generator.frozen import frozen

READY, PENDING, FAILED = "READY", "PENDING_REGISTRATION", "FAILED_REGISTRATION"
NOT_REGISTERED = "NOT_REGISTERED"  # ours, not MLflow's: the registry has no such version
MISSING = "RESOURCE_DOES_NOT_EXIST"  # MLflow's error code for a name or version it does not know


class RegistryError(UserError):
    """MLflow refused a request or could not be reached. error_code is MLflow's ("" when the answer was
    not an MLflow error body), status the HTTP status (0 when nothing was answered)."""

    def __init__(self, message: str, hint: str = "", *, error_code: str = "", status: int = 0) -> None:
        super().__init__(message, hint)
        self.error_code = error_code
        self.status = status

    def to_json(self) -> dict[str, object]:
        return {**super().to_json(), "error_code": self.error_code, "status": self.status}


@frozen
class ModelVersion:
    name: str
    version: str
    status: str
    status_message: str = ""
    source: str = ""
    run_id: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


@frozen
class ModelSource:
    """What a new version is created from, as the registry will accept it: the source URI, the run
    that produced it and, for an MLflow 3 logged model (models:/m-...), its model_id."""

    source: str
    run_id: str = ""
    model_id: str = ""


class ModelRegistry(Protocol):
    """What continuous training asks of a model registry; every method raises RegistryError."""

    @property
    def base_url(self) -> str: ...

    def resolve_source(self, source: str, run_id: str = "") -> ModelSource: ...

    def ensure_registered_model(self, name: str, description: str = "") -> bool: ...

    def delete_registered_model(self, name: str) -> None: ...

    def create_version(self, name: str, source: str, *, run_id: str = "", model_id: str = "",
                       tags: Mapping[str, str] | None = None, description: str = "") -> ModelVersion: ...

    def get_version(self, name: str, version: str) -> ModelVersion: ...

    def wait_ready(self, name: str, version: str, *, timeout: float = 600.0) -> ModelVersion: ...

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None: ...

    def set_alias(self, name: str, alias: str, version: str) -> None: ...

    def version_by_alias(self, name: str, alias: str) -> ModelVersion | None: ...
