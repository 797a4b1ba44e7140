"""Continuous training in Apache Airflow: one DAG file per model when the spec names Airflow."""

from __future__ import annotations

import posixpath

from generator.artifacts import PlannedArtifact, Syntax
from generator.frozen import frozen
from generator.model import Spec


@frozen
class ScriptLines:
    """Fixed lines the DAG's step scripts start with (spec values reach them as environment variables)."""

    install: str = 'python -m pip install --quiet "$MLOPSGEN_PACKAGE"\n'
    fetch: str = ""  # FETCH when the spec fetches data first


FETCH = 'sh -c "$FETCH_COMMAND"\n'


@frozen
class Airflow:
    name: str = "airflow"

    def plan(self, spec: Spec) -> list[PlannedArtifact]:
        training = spec.training
        if training is None or training.orchestrator != "airflow":
            return []
        module = f"{spec.name.replace('-', '_')}_retrain"
        triggers = training.triggers
        assets = [triggers.data.asset_uri] if triggers.data else []
        assets += [alert_asset(spec.name, slo) for slo in triggers.alerts]
        context = {
            "dag_id": module,
            # the pods run in the training image, whose working directory is the model repository
            "spec_file": posixpath.basename(spec.source),
            "secret": f"{spec.name}-ct",
            "assets": assets,  # any of them starts a run
            "training": training,
            "scripts": ScriptLines(fetch=FETCH if training.fetch else ""),
        }
        path = posixpath.join(training.dags_folder, f"{module}.py")
        return [PlannedArtifact(path, "airflow/dag.py.j2", Syntax.PYTHON, "training", context)]


def alert_asset(model: str, slo: str) -> str:
    """The Asset an alert relay updates (through Airflow's REST API) when the SLO's alert fires."""
    return f"mlopsgen://{model}/alerts/{slo}"
