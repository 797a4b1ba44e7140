"""Continuous training in Apache Airflow: the generated DAG files load in a real Airflow.

A real Apache Airflow (.ci/install-tools puts it in <repo>/.tools/airflow, a venv of its own) loads
every generated DAG with its DagBag (tests/conformance/airflow_dagbag.py): no import errors, the five
steps chained check_data >> train >> evaluate >> register >> open_merge_request, the resources and
the schedule the spec asks for, and the exact commands the pods would get after the provider's
own Jinja rendering. Without that Airflow the Airflow tests are skipped on a developer machine, and
fail in CI (CI set), so that .ci/run cannot pass without them.

The ast tests need no Airflow: hostile spec strings reach the DAG file only as string constants.
"""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from conformance.validators import find_tool, in_ci

from generator.artifacts import RenderedFile, Syntax
from generator.cli import main
from generator.errors import VerificationError
from generator.render.engine import build
from generator.render.rendering import python_literal
from generator.render.verify import verify

REPO = Path(__file__).resolve().parent.parent
AIRFLOW_PYTHON = REPO / ".tools" / "airflow" / "bin" / "python"
DAGBAG_SCRIPT = REPO / "tests" / "conformance" / "airflow_dagbag.py"
CHAIN = ["check_data", "train", "evaluate", "register", "open_merge_request"]
AIRFLOW_EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/mlops.yaml")
                          if (yaml.safe_load(p.read_text(encoding="utf-8")).get("training") or {})
                          .get("orchestrator") == "airflow")
DEMAND = REPO / "examples" / "demand-forecast" / "mlops.yaml"
GOLDEN_DAG = DEMAND.parent / "rendered" / "airflow" / "dags" / "demand_forecast_retrain.py"
HOSTILE = {
    "fetch": "echo \"$(id)\" '${HOME}' `whoami`; rm -rf / # \\\n\"\"\"\nimport os; os.system('x')\n'''",
    "command": ("python -c \"print('''{{ spec.name }}''')\" {% if x %}{#\\x00\\u0027 \\\" \\\\ \t\n"
                "\"\"\" + __import__('os').system('id') + \"\"\""),
    "evaluation": "{{ ti.xcom_pull('train') }} {{ var.value.secret }} \\N{BULLET} ${x} ünï 模型 😀\n",
}
# upstream results with Jinja syntax, a carriage return and a final newline: they must reach the pods as they are
XCOMS = {
    "run_id": "manual__2026-01-01T00:00:00+00:00{{ 7 * 7 }}",
    "xcom": {
        "train": {"model_uri": "s3://acme-models/runs/{{ 7 * 7 }}", "mlflow_run_id": "run{% raw %}\r{#",
                  "logged_model_uri": "models:/m-{{ 7 * 7 }}"},
        "evaluate": {"report": {"passed": True, "note": "{{ conn.x.password }}"}, "markdown": "# Gate\n{{ 1 }}\n"},
        "register": {"name": "demand-forecast", "version": "7", "uri": "models:/demand-forecast/7"},
    },
}


def spec_data(**training: Any) -> dict[str, Any]:
    data = yaml.safe_load(DEMAND.read_text(encoding="utf-8"))
    data["training"].update(training)
    return data


def write_spec(directory: Path, data: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    spec = directory / "mlops.yaml"
    spec.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return spec


def variants() -> dict[str, dict[str, Any]]:
    """Specs beside the examples: Kafka data and alerts without cron, cron only (no GPU), hostile strings."""
    kafka = spec_data(triggers={"data": {"kafka": {"bootstrapServers": "kafka-0.kafka:9092,kafka-1.kafka:9092",
                                                   "topic": "demand.features"}},
                                "alerts": ["error-rate", "p95-latency"]})
    kafka["metadata"]["name"] = "demand-kafka"
    cron = spec_data(triggers={"schedule": "30 2 * * 1-5"}, resources={"cpu": "2", "memory": "4Gi"})
    cron["metadata"]["name"] = "demand-cron"
    hostile = spec_data(fetch=HOSTILE["fetch"], command=HOSTILE["command"])
    hostile["training"]["evaluation"]["command"] = HOSTILE["evaluation"]
    hostile["metadata"]["name"] = "demand-hostile"
    return {"kafka": kafka, "cron": cron, "hostile": hostile}


def dag_file(spec: Path) -> str:
    return next(f.content for f in build(spec, spec.parent / "out").files if f.syntax is Syntax.PYTHON)


# ------------------------------------------------------------------------------------ without Airflow

def test_the_demand_forecast_example_uses_airflow() -> None:
    assert [p.name for p in AIRFLOW_EXAMPLES] == ["demand-forecast"]
    assert GOLDEN_DAG.is_file()


def test_no_dag_unless_the_spec_names_airflow() -> None:
    for example in sorted((REPO / "examples").glob("*/rendered")):
        if example.parent not in AIRFLOW_EXAMPLES:
            assert not list(example.rglob("*.py")), example.parent.name


@pytest.mark.parametrize("value", [*HOSTILE.values(), "", "'", '"', "\\", "\r\x00\x1b\u2028", 0, -3, 1.5, 1e-9,
                                   True, False, None])
def test_python_literal_reads_back_as_the_value(value: Any) -> None:
    literal = python_literal(value)
    assert "\n" not in literal and "\r" not in literal
    assert ast.literal_eval(literal) == value and type(ast.literal_eval(literal)) is type(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), b"bytes", ["a"], {"a": 1}, ("a",), object()])
def test_python_literal_refuses_other_types(value: Any) -> None:
    with pytest.raises(TypeError):
        python_literal(value)


def _shape(source: str) -> str:
    """The syntax tree with every string constant blanked: what is code, not data."""
    class Blank(ast.NodeTransformer):
        def visit_Constant(self, node: ast.Constant) -> ast.Constant:
            return ast.Constant("") if isinstance(node.value, str) else node

    return ast.dump(Blank().visit(ast.parse(source)))


def test_hostile_spec_strings_are_only_string_constants(tmp_path: Path) -> None:
    data = variants()["hostile"]
    source = dag_file(write_spec(tmp_path / "hostile", data))
    data["training"].update(fetch="aws s3 sync s3://a/b data/", command="python -m train")
    data["training"]["evaluation"]["command"] = "python -m evaluate"
    assert _shape(source) == _shape(dag_file(write_spec(tmp_path / "benign", data))), "a spec string became code"
    hostile = ast.parse(source)
    constants = {target.id: node.value for node in hostile.body if isinstance(node, ast.Assign)
                 for target in node.targets if isinstance(target, ast.Name)}
    for name, key in (("FETCH_COMMAND", "fetch"), ("TRAIN_COMMAND", "command"), ("EVALUATION_COMMAND", "evaluation")):
        assert isinstance(constants[name], ast.Constant) and constants[name].value == HOSTILE[key], name
    strings = [node.value for node in ast.walk(hostile) if isinstance(node, ast.Constant)]
    for value in HOSTILE.values():
        assert strings.count(value) == 1


def test_verify_names_the_file_and_line_of_a_python_syntax_error() -> None:
    broken = RenderedFile("airflow/dags/m_retrain.py", "x = 1\n\ndef f(:\n    pass\n", Syntax.PYTHON, "training")
    with pytest.raises(VerificationError) as caught:
        verify([broken])
    assert "airflow/dags/m_retrain.py (from spec field 'training'): line 3:" in str(caught.value)
    verify([RenderedFile("airflow/dags/ok.py", "x = 1\n", Syntax.PYTHON, "training")])


def test_the_step_scripts_pass_shellcheck_as_posix_sh() -> None:
    shellcheck = find_tool("shellcheck")
    assert shellcheck, "shellcheck is not installed: pip install -e '.[test]'"
    source = GOLDEN_DAG.read_text(encoding="utf-8")
    scripts = {target.id: node.value.value for node in ast.parse(source).body if isinstance(node, ast.Assign)
               for target in node.targets if isinstance(target, ast.Name)
               and isinstance(node.value, ast.Constant) and str(node.value.value).startswith("set -eu")}
    assert sorted(scripts) == ["CHECK_DATA", "EVALUATE", "OPEN_MERGE_REQUEST", "REGISTER", "TRAIN"]
    for name, script in scripts.items():
        result = subprocess.run([shellcheck, "--shell=sh", "--severity=style", "-"], input=script, text=True,
                                capture_output=True, timeout=60, check=False)
        assert result.returncode == 0, f"{name}: {result.stdout}"


def test_render_is_byte_identical_across_runs(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, variants()["kafka"])
    assert dag_file(spec) == dag_file(spec)


# --------------------------------------------------------------------------------------- with Airflow

def airflow_python() -> Path:
    if AIRFLOW_PYTHON.is_file():
        return AIRFLOW_PYTHON
    reason = f"Apache Airflow is not installed in {AIRFLOW_PYTHON.parent.parent}: run bash .ci/install-tools"
    if in_ci():
        pytest.fail(reason + " (CI is set: the Airflow DAG tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every Airflow example and variant rendered, their DAG files in one folder, loaded by one DagBag."""
    python = airflow_python()
    tmp = tmp_path_factory.mktemp("airflow")
    folder = tmp / "dags"
    folder.mkdir()
    specs = {example.name: example / "mlops.yaml" for example in AIRFLOW_EXAMPLES}
    specs.update({name: write_spec(tmp / name, data) for name, data in variants().items()})
    for name, spec in specs.items():
        out = tmp / f"{name}-out"
        assert main(["render", str(spec), "--out", str(out)]) == 0
        for dag in out.rglob("*.py"):
            dag.replace(folder / dag.name)
    xcoms = tmp / "xcoms.json"
    xcoms.write_text(json.dumps(XCOMS), encoding="utf-8")
    result = subprocess.run([str(python), str(DAGBAG_SCRIPT), str(folder), "--commands", str(xcoms)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def assets_in(condition: dict[str, Any]) -> list[str]:
    if condition["__type"] == "asset":
        return [condition["name"]]
    return [name for inner in condition["objects"] for name in assets_in(inner)]


def test_real_airflow_imports_every_dag_without_errors(loaded: dict[str, Any]) -> None:
    assert loaded["airflow"] == "3.3.2"
    assert loaded["import_errors"] == {}
    assert sorted(loaded["dags"]) == ["demand_cron_retrain", "demand_forecast_retrain", "demand_hostile_retrain",
                                      "demand_kafka_retrain"]


@pytest.mark.parametrize("dag_id", ["demand_forecast_retrain", "demand_kafka_retrain", "demand_cron_retrain"])
def test_the_five_steps_are_one_chain_of_kubernetes_pods(loaded: dict[str, Any], dag_id: str) -> None:
    dag = loaded["dags"][dag_id]
    tasks = dag["tasks"]
    assert sorted(tasks) == sorted(CHAIN)
    for task_id, after in zip(CHAIN, [*CHAIN[1:], None], strict=True):
        assert tasks[task_id]["downstream"] == ([after] if after else []), task_id
        assert tasks[task_id]["operator"] == "@task.kubernetes_cmd"
        assert tasks[task_id]["env_from_secrets"] == [dag_id.removesuffix("_retrain").replace("_", "-") + "-ct"]
        assert tasks[task_id]["do_xcom_push"] is True
        assert tasks[task_id]["owner"] == "supply-chain"
    assert tasks["train"]["retries"] == 1
    assert [tasks[t]["retries"] for t in ("check_data", "evaluate", "register", "open_merge_request")] == [0] * 4
    assert dag["catchup"] is False and dag["max_active_runs"] == 1
    assert dag["start_date"] == "2025-01-01T00:00:00+00:00"
    assert "GITLAB_TOKEN" in dag["doc_md"] and "MLFLOW_TRACKING_TOKEN" in dag["doc_md"]


def test_the_example_trains_on_a_gpu_pod_with_its_timeout(loaded: dict[str, Any]) -> None:
    tasks = loaded["dags"]["demand_forecast_retrain"]["tasks"]
    assert tasks["train"]["resources"] == {"requests": {"cpu": "8", "memory": "32Gi"},
                                           "limits": {"memory": "32Gi", "nvidia.com/gpu": "1"}}
    assert tasks["train"]["execution_timeout"] == 6 * 3600
    assert tasks["train"]["namespace"] == "ml-training"
    assert tasks["train"]["image"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demand-forecast-train:5.2.0"
    assert "nvidia.com/gpu" not in tasks["check_data"]["resources"]["limits"]
    assert loaded["dags"]["demand_forecast_retrain"]["tags"] == ["ct", "demand-forecast", "mlopsgen"]


def test_no_gpu_limit_unless_the_spec_asks_for_one(loaded: dict[str, Any]) -> None:
    tasks = loaded["dags"]["demand_cron_retrain"]["tasks"]
    assert tasks["train"]["resources"] == {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "4Gi"}}


def test_cron_and_data_asset_schedule_either(loaded: dict[str, Any]) -> None:
    schedule = loaded["dags"]["demand_forecast_retrain"]["schedule"]
    assert schedule["__type"] == "airflow.timetables.assets.AssetOrTimeSchedule"
    timetable = schedule["__var"]["timetable"]
    assert timetable["__type"] == "airflow.timetables.trigger.CronTriggerTimetable"
    assert timetable["__var"]["expression"] == "0 4 * * 0" and timetable["__var"]["timezone"] == "UTC"
    assert assets_in(schedule["__var"]["asset_condition"]) == ["s3://acme-features/demand-forecast/weekly/"]


def test_kafka_data_and_alerts_are_assets_any_of_which_starts_a_run(loaded: dict[str, Any]) -> None:
    schedule = loaded["dags"]["demand_kafka_retrain"]["schedule"]
    assert schedule["__type"] == "airflow.timetables.simple.AssetTriggeredTimetable"
    condition = schedule["__var"]["asset_condition"]
    assert condition["__type"] == "asset_any"
    assert assets_in(condition) == ["kafka://kafka-0.kafka:9092/demand.features",
                                    "mlopsgen://demand-kafka/alerts/error-rate",
                                    "mlopsgen://demand-kafka/alerts/p95-latency"]


def test_cron_only(loaded: dict[str, Any]) -> None:
    schedule = loaded["dags"]["demand_cron_retrain"]["schedule"]
    assert schedule["__type"] == "airflow.timetables.trigger.CronTriggerTimetable"
    assert schedule["__var"]["expression"] == "30 2 * * 1-5"


def environment(command: list[str]) -> dict[str, str]:
    """NAME=value words of `env NAME=value ... /bin/sh -c SCRIPT`."""
    assert command[0] == "env" and command[-3:-1] == ["/bin/sh", "-c"], command
    return dict(word.split("=", 1) for word in command[1:-3])


def test_pods_get_the_example_commands(loaded: dict[str, Any]) -> None:
    commands = loaded["commands"]["demand_forecast_retrain"]
    train = environment(commands["train"])
    assert train["TRAIN_COMMAND"] == 'python -m forecast.train --data data/features.parquet --out "$MODEL_OUTPUT_URI"'
    assert train["MODEL_OUTPUT_URI"] == "s3://acme-models/demand-forecast/runs/manual__2026-01-01T00-00-00-00-00-7-7"
    assert 'mlopsgen data-check "$MLOPSGEN_SPEC" --report /airflow/xcom/return.json' in commands["check_data"][-1]
    assert environment(commands["check_data"])["MLOPSGEN_SPEC"] == "mlops.yaml"
    evaluate = environment(commands["evaluate"])
    assert evaluate["CHAMPION_URI"] == "s3://acme-models/demand-forecast"
    assert "mlopsgen evaluate" in commands["evaluate"][-1] and "mlopsgen propose" in commands["open_merge_request"][-1]


def test_hostile_values_reach_the_pods_unchanged(loaded: dict[str, Any]) -> None:
    """After the provider's Jinja pass: spec strings and upstream results, byte for byte."""
    commands = loaded["commands"]["demand_hostile_retrain"]
    scripts = {task: command[-1] for task, command in commands.items()}
    env = {task: environment(command) for task, command in commands.items()}
    assert env["check_data"]["FETCH_COMMAND"] == HOSTILE["fetch"]
    assert env["train"]["TRAIN_COMMAND"] == HOSTILE["command"]
    assert env["evaluate"]["EVALUATION_COMMAND"] == HOSTILE["evaluation"]
    upstream = XCOMS["xcom"]
    assert env["evaluate"]["CHALLENGER_URI"] == upstream["train"]["model_uri"]
    assert env["register"]["MODEL_URI"] == upstream["train"]["model_uri"]
    assert env["register"]["MLFLOW_RUN_ID"] == upstream["train"]["mlflow_run_id"]
    assert env["register"]["LOGGED_MODEL_URI"] == upstream["train"]["logged_model_uri"]
    assert json.loads(env["register"]["GATE_REPORT_JSON"]) == upstream["evaluate"]["report"]
    assert json.loads(env["open_merge_request"]["REGISTERED_JSON"]) == upstream["register"]
    assert env["open_merge_request"]["GATE_REPORT_MARKDOWN"] == upstream["evaluate"]["markdown"]
    # the scripts are the fixed text of the blueprint, the same whatever the spec says
    assert scripts == {task: command[-1] for task, command in loaded["commands"]["demand_forecast_retrain"].items()}
