"""Hostile strings in a valid spec are rendered as data, never as code.

Each artifact is parsed back with the parser its platform uses (YAML, Groovy 2.4's AST, the
Dockerfile exec-form JSON) and must hold exactly the string from the spec.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conformance.validators import _env, assert_tree_conforms, find_tool, in_ci, require_tool

from generator.cli import main

REPO = Path(__file__).resolve().parent.parent
HOSTILE = [
    "echo \"$(id)\" '${HOME}' `whoami`; rm -rf /",
    "x\ninjected: true\n- also: this",
    "''' \"\"\" \\' \\u0027 \\\\u0027 ${env.SECRET} $SECRET",
    "{{ spec.name }} {% if true %}jinja{% endif %} #}",
    "&anchor *alias !!python/object:os.system [a, b] {c: d} # comment",
    "ünïcödé ✓ 模型 😀 \t tab",
]


def hostile_spec(tmp_path: Path) -> Path:
    data = yaml.safe_load((REPO / "tests/specs/valid/minimal.yaml").read_text())
    data["metadata"]["description"] = HOSTILE[0]
    data["build"]["entrypoint"] = ["python", "-c", HOSTILE[2], HOSTILE[1]]
    data["ci"]["tests"] = {
        "lint": HOSTILE[0],
        "unit": HOSTILE[1],
        "dataValidation": HOSTILE[2],
        "modelValidation": {"command": HOSTILE[3], "thresholds": {"auc": {"min": 0.5}}},
    }
    data["monitoring"] = {"slos": [{"signal": "errorRate", "threshold": 0.05, "runbook": HOSTILE[4]},
                                   {"name": "latency", "signal": "latency", "percentile": 99, "threshold": 100,
                                    "runbook": HOSTILE[5]}]}
    spec = tmp_path / "mlops.yaml"
    spec.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return spec


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    assert main(["render", str(hostile_spec(tmp)), "--out", str(tmp / "out")]) == 0
    return tmp / "out"


def test_gitlab_ci_holds_the_exact_commands(rendered: Path) -> None:
    pipeline = yaml.safe_load((rendered / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    assert pipeline["lint"]["script"] == [HOSTILE[0]]
    assert pipeline["unit-tests"]["script"] == [HOSTILE[1]]
    assert pipeline["data-validation"]["script"] == [HOSTILE[2]]
    assert pipeline["model-validation"]["script"][0] == HOSTILE[3]
    assert "injected" not in pipeline


def test_prometheus_rule_holds_the_exact_runbooks(rendered: Path) -> None:
    rule = yaml.safe_load((rendered / "deploy/overlays/prod/prometheusrule.yaml").read_text(encoding="utf-8"))
    runbooks = [r["annotations"]["runbook_url"] for r in rule["spec"]["groups"][0]["rules"]]
    assert runbooks == [HOSTILE[4], HOSTILE[5]]


def test_dockerfile_exec_form_holds_the_exact_entrypoint(rendered: Path) -> None:
    text = (rendered / "Dockerfile").read_text(encoding="utf-8")
    cmd = re.search(r"^CMD (.*)$", text, re.M)
    assert cmd is not None
    assert json.loads(cmd.group(1)) == ["python", "-c", HOSTILE[2], HOSTILE[1]]


def groovy_strings(jenkinsfile: Path) -> list[str]:
    """Every string literal of a Jenkinsfile, as Groovy 2.4's parser reads it."""
    groovy = require_tool("groovy")
    script = REPO / "tests/conformance/groovy_strings.groovy"
    result = subprocess.run([groovy, str(script), str(jenkinsfile)], capture_output=True, env=_env(), timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]


def test_jenkinsfile_strings_read_back_by_groovy(rendered: Path) -> None:
    strings = groovy_strings(rendered / "Jenkinsfile")
    for command in HOSTILE[:4]:
        assert any(s.endswith("\n" + command) for s in strings), command


def test_hostile_output_passes_real_validators(rendered: Path) -> None:
    assert_tree_conforms(rendered)


def test_control_characters_are_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = hostile_spec(tmp_path)
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    data["ci"]["tests"]["unit"] = "pytest\x1b[2J"
    spec.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["render", str(spec), "--out", str(tmp_path / "out")]) == 1
    assert "ci.tests.unit: \"pytest\\u001b[2J\" is not text without control characters" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_groovy_is_available_in_ci() -> None:
    if in_ci():
        assert shutil.which("groovy") or find_tool("groovy")


def hostile_training_spec(tmp_path: Path, orchestrator: str) -> Path:
    data = yaml.safe_load((REPO / "tests/specs/valid/minimal.yaml").read_text())
    data["training"] = {
        "orchestrator": orchestrator,
        "triggers": {"schedule": "0 3 * * 1"},
        "fetch": HOSTILE[0],
        "command": HOSTILE[1],
        "outputUri": "s3://models/tiny-model/runs",
        "dataChecks": {"path": "data/train.csv"},
        "evaluation": {"command": HOSTILE[2], "thresholds": {"auc": {"min": 0.5}}, "champion": {"metric": "auc"}},
        "registry": {"trackingUri": "https://mlflow.example.com"},
    }
    spec = tmp_path / "mlops.yaml"
    spec.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return spec


def test_retraining_jobs_hold_the_exact_commands(tmp_path: Path) -> None:
    assert main(["render", str(hostile_training_spec(tmp_path, "gitlab")), "--out", str(tmp_path / "out")]) == 0
    pipeline = yaml.safe_load((tmp_path / "out/.gitlab-ci.yml").read_text(encoding="utf-8"))
    assert pipeline["retrain-data-checks"]["script"][0] == HOSTILE[0]
    assert pipeline["retrain-train"]["script"] == [HOSTILE[0], HOSTILE[1]]
    assert pipeline["retrain-evaluate"]["script"][2] == HOSTILE[2]
    assert pipeline["retrain-evaluate"]["script"][4] == HOSTILE[2]
    assert "injected" not in pipeline
    assert_tree_conforms(tmp_path / "out")


def test_jenkins_retraining_strings_read_back_by_groovy(tmp_path: Path) -> None:
    assert main(["render", str(hostile_training_spec(tmp_path, "jenkins")), "--out", str(tmp_path / "out")]) == 0
    strings = groovy_strings(tmp_path / "out/Jenkinsfile.retrain")
    for command in HOSTILE[:3]:
        assert any(s.endswith("\n" + command) for s in strings), command
    assert_tree_conforms(tmp_path / "out")


@pytest.mark.parametrize("value", ["mlops.yaml", "my spec.yaml", "$(touch pwned).yaml", "a'b\".yaml", "x: #y"])
def test_a_gitlab_script_line_reaches_the_shell_as_quoted(value: str) -> None:
    """GitLab reads a script item as YAML, then hands it to the shell: what the shell gets must be
    the command with the value as one word, whatever the value holds."""
    import shlex

    from generator.render.targets.shell import Arg, command

    line = command("mlopsgen", "check", Arg(value), "--dir", ".")
    script = yaml.safe_load(f"- {line.yaml}\n")[0]
    assert shlex.split(script) == ["mlopsgen", "check", value, "--dir", "."]


def test_a_string_quoted_without_the_emitter_is_what_the_yaml_emitter_writes(monkeypatch: pytest.MonkeyPatch,
                                                                            tmp_path: Path) -> None:
    """yaml_scalar double-quotes printable ASCII with newlines itself: the same text the emitter
    gives for every string the examples and the hostile spec render, and for random text (hostile
    characters included)."""
    import random

    from generator.render import rendering
    from generator.render.engine import build

    seen: list[str] = []
    quote_by_emitter = rendering._emit_scalar
    monkeypatch.setattr(rendering, "yaml_scalar", lambda value: seen.append(value) or quote_by_emitter(value))
    for spec in [*sorted((REPO / "examples").glob("*/mlops.yaml")), hostile_spec(tmp_path)]:
        rendering.environment.cache_clear()  # the filter is bound when the environment is made
        build(spec, tmp_path)
    rendering.environment.cache_clear()
    monkeypatch.undo()
    rnd = random.Random(14)
    alphabet = [chr(c) for c in range(0x20, 0x7F)] + ["\n", "\t", "\x85", "\xa0", "\u2028", "\ufeff", "é", "模"]
    samples = [s for s in seen if isinstance(s, str)]
    samples += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 20))) for _ in range(20_000)]
    fast = [s for s in seen if isinstance(s, str) and rendering._ASCII_LINES.fullmatch(s)]
    assert len(samples) > 20_000 and any('"' in s and "\\" in s and "\n" in s for s in fast)  # PromQL, JSON
    for text in samples:
        assert rendering.yaml_scalar(text) == quote_by_emitter(text), repr(text)
