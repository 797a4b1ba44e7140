"""Load a folder of DAG files with a real Apache Airflow and print what it sees, as JSON.

Run with the Python of the Airflow installation that .ci/install-tools makes (it is kept apart from
the project's own environment so that Airflow's pins never touch it):

    .tools/airflow/bin/python tests/conformance/airflow_dagbag.py DAG_FOLDER [--commands XCOMS.json]

It loads the folder with Airflow's DagBag and serialises every DAG as the DAG processor does (a DAG
that loads but does not serialise never reaches the scheduler), then prints
{"airflow": version, "import_errors": {file: error}, "dags": {dag_id: {...tasks with their
downstream task ids, resources, schedule (the serialised timetable), tags...}}}.

With --commands it also runs each @task.kubernetes_cmd task's execute() up to the point where the
pod would start (the pod is not started) and prints "commands": {dag_id: {task_id: command}}, the
command as the pod would get it, after the provider's own Jinja rendering. XCOMS.json gives the
run id and the upstream results: {"run_id": "...", "xcom": {task_id: value}}.

No database or server is needed: AIRFLOW_HOME is a temporary directory and examples are not loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any


def _configure() -> None:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="mlopsgen-airflow-home-"))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")


def _seconds(value: Any) -> float | None:
    return None if value is None else value.total_seconds()


def _resources(task: Any) -> dict[str, Any] | None:
    resources = getattr(task, "container_resources", None)
    if resources is None:
        return None
    return {"requests": dict(resources.requests or {}), "limits": dict(resources.limits or {})}


def _task(task: Any) -> dict[str, Any]:
    env_from = getattr(task, "env_from", None) or []
    return {
        "operator": getattr(task, "custom_operator_name", None) or type(task).__name__,
        "downstream": sorted(task.downstream_task_ids),
        "upstream": sorted(task.upstream_task_ids),
        "retries": task.retries,
        "execution_timeout": _seconds(task.execution_timeout),
        "owner": task.owner,
        "namespace": getattr(task, "namespace", None),
        "image": getattr(task, "image", None),
        "resources": _resources(task),
        "env_from_secrets": [source.secret_ref.name for source in env_from if source.secret_ref],
        "do_xcom_push": task.do_xcom_push,
    }


def summarise(folder: str) -> dict[str, Any]:
    import airflow
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    # DagBag no longer takes include_examples (Airflow 3); AIRFLOW__CORE__LOAD_EXAMPLES=False does it
    bag = DagBag(dag_folder=folder)
    errors = dict(bag.import_errors)
    dags: dict[str, Any] = {}
    for dag_id, dag in sorted(bag.dags.items()):
        try:
            serialised = DagSerialization.to_dict(dag)["dag"]
        except Exception as exc:  # the DAG processor reports these as import errors too
            errors[dag.fileloc] = f"serialisation: {type(exc).__name__}: {exc}"
            continue
        dags[dag_id] = {
            "file": os.path.relpath(dag.fileloc, folder),
            "tags": sorted(dag.tags),
            "schedule": serialised["timetable"],
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "doc_md": dag.doc_md,
            "tasks": {task.task_id: _task(task) for task in dag.tasks},
        }
    return {"airflow": airflow.__version__, "import_errors": errors, "dags": dags, "bag": bag}


class _FakeTaskInstance:
    def __init__(self, xcom: dict[str, Any]) -> None:
        self._xcom = xcom

    def xcom_pull(self, task_ids: str, key: str = "return_value", **_: Any) -> Any:
        return self._xcom[task_ids]


def commands(bag: Any, run_id: str, xcom: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """The command each kubernetes_cmd task would give its pod, rendered as the provider renders it."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    captured: dict[str, list[str]] = {}

    def no_pod(self: Any, context: Any) -> None:
        captured[self.task_id] = list(self.cmds)

    KubernetesPodOperator.execute = no_pod  # type: ignore[method-assign]
    out: dict[str, dict[str, list[str]]] = {}
    for dag_id, dag in sorted(bag.dags.items()):
        captured.clear()
        for task in dag.tasks:
            context = {"run_id": run_id, "ti": _FakeTaskInstance(xcom), "dag": dag, "task": task, "params": {}}
            task.render_template_fields(context)  # what the task runner does before execute()
            task.execute(context)
        out[dag_id] = dict(captured)
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--commands", metavar="XCOMS.json")
    args = parser.parse_args(argv)
    _configure()
    result = summarise(args.folder)
    bag = result.pop("bag")
    if args.commands:
        with open(args.commands, encoding="utf-8") as handle:
            fake = json.load(handle)
        result["commands"] = commands(bag, fake["run_id"], fake["xcom"])
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
