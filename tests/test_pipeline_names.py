"""Job and stage names are unique by construction, so a spec `mlopsgen validate` accepts renders.

Two production environments (two regions) used to validate and then fail to render with
"duplicate key 'registry-champion'" in .gitlab-ci.yml (exit 1, "this is a bug"): the blueprint wrote
the champion job once per production environment. Now the CI targets name every job and stage
through one UniqueNames per file (generator/render/targets/names.py), the champion alias moves once, after
the last production environment, and an artifact failing verification is a bug: exit 3.
"""

from __future__ import annotations

import contextlib
import io
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from conformance.validators import assert_tree_conforms

from generator.cli import main
from generator.errors import EXIT_BUG, EXIT_OK, VerificationError
from generator.render import engine
from generator.render.plan import plan
from generator.render.targets import stages
from generator.render.targets.names import NameClash, UniqueNames
from generator.spec.intake import load_valid_spec
from generator.spec.normalise import normalise

CANARY = {"type": "canary", "steps": [{"weight": 25, "pause": "15m"}, {"weight": 100}]}
# environment layouts: (environments, the last production environment or None, its last deploy job)
LAYOUTS = {
    "two-production-regions": (
        [{"name": "staging"}, {"name": "prod-eu", "production": True, "approval": "manual"},
         {"name": "prod-us", "production": True, "strategy": CANARY}], "prod-us", "promote-prod-us"),
    "production-before-a-lab": (
        [{"name": "staging"}, {"name": "prod", "production": True, "strategy": CANARY},
         {"name": "lab", "production": False}], "prod", "promote-prod"),
    "no-production": (
        [{"name": "staging"}, {"name": "qa", "production": False}], None, None),
}
ALIAS_COMMAND = "mlopsgen registry alias"


def spec_text(environments: list[dict[str, Any]], orchestrator: str) -> str:
    spec = {
        "apiVersion": "mlopsgen/v1", "kind": "ModelPipeline",
        "metadata": {"name": "churn", "team": "ds"},
        "model": {"framework": "sklearn", "uri": "s3://models/churn", "version": "3"},
        "build": {"baseImage": "python:3.11.9-slim-bookworm",
                  "registry": {"image": "registry.gitlab.com/acme/churn"}},
        "serving": {},
        "ci": {"targets": ["gitlab", "jenkins"]},
        "deploy": {"gitops": {"repo": "https://gitlab.example.com/acme/gitops.git"},
                   "rollback": {"automatic": True, "manual": True}, "environments": environments},
        "monitoring": {"slos": [{"signal": "errorRate", "threshold": 0.02}]},
        "training": {
            "orchestrator": orchestrator,
            "triggers": {"schedule": "0 2 * * *"},
            "command": 'python -m churn.train --out "$MODEL_OUTPUT_URI"',
            "outputUri": "s3://models/churn/runs",
            "dataChecks": {"path": "data/customers.csv", "format": "csv", "minRows": 100},
            "evaluation": {"command": 'python -m churn.evaluate --model "$MODEL_URI" --out "$METRICS_FILE"',
                           "thresholds": {"f1": {"min": 0.7}},
                           "champion": {"metric": "f1", "direction": "maximize"}},
            "registry": {"trackingUri": "http://mlflow.mlflow.svc:5000"},
        },
    }
    return yaml.safe_dump(spec, sort_keys=False)


def cli(*argv: str) -> tuple[int, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(list(argv))
    return code, stderr.getvalue()


def rendered(tmp_path: Path, layout: str, orchestrator: str) -> Path:
    spec_file, out = tmp_path / "mlops.yaml", tmp_path / "out"
    spec_file.write_text(spec_text(LAYOUTS[layout][0], orchestrator), encoding="utf-8")
    code, err = cli("validate", str(spec_file))
    assert code == EXIT_OK, err
    code, err = cli("render", str(spec_file), "--out", str(out))
    assert code == EXIT_OK, f"validate accepted the spec, render exited {code}:\n{err}"
    return out


def unique_keys_mapping(text: str) -> dict[str, Any]:
    """The YAML document, failing on a key written twice (yaml.safe_load keeps the last silently)."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    assert isinstance(node, yaml.MappingNode)
    keys = [key.value for key, _ in node.value]
    assert len(keys) == len(set(keys)), f"top-level keys written twice: {sorted(k for k in keys if keys.count(k) > 1)}"
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def jenkins_stage_names(text: str) -> list[str]:
    return re.findall(r"^\s*stage\('((?:[^'\\]|\\.)*)'\)", text, re.M)


@pytest.mark.parametrize("orchestrator", ["gitlab", "jenkins"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_gitlab_moves_the_champion_once_after_the_last_production_environment(
        tmp_path: Path, layout: str, orchestrator: str) -> None:
    _, last_production, last_job = LAYOUTS[layout]
    pipeline = unique_keys_mapping((rendered(tmp_path, layout, orchestrator) / ".gitlab-ci.yml").read_text("utf-8"))
    jobs = [name for name, body in pipeline.items() if isinstance(body, dict) and "script" in body]
    alias_jobs = [name for name in jobs if any(ALIAS_COMMAND in line for line in pipeline[name]["script"])]
    if last_production is None:
        assert alias_jobs == []
        return
    assert alias_jobs == ["registry-champion"]
    champion = pipeline["registry-champion"]
    assert (champion["stage"], champion["needs"]) == (f"deploy-{last_production}", [last_job])
    # it comes after every production deploy job, in file order as in the stage order
    production = {env["name"] for env in LAYOUTS[layout][0] if env.get("production")}
    deploy_jobs = [name for name in jobs if pipeline[name].get("environment", {}).get("name") in production
                   and pipeline[name]["environment"].get("action") != "access" and "rules" in pipeline[name]
                   and not name.startswith(("rollback-", "auto-rollback-"))]
    assert deploy_jobs and jobs.index("registry-champion") > max(jobs.index(name) for name in deploy_jobs)
    assert pipeline["stages"].index(champion["stage"]) == max(
        pipeline["stages"].index(f"deploy-{name}") for name in production)


@pytest.mark.parametrize("orchestrator", ["gitlab", "jenkins"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_jenkins_moves_the_champion_once_right_after_the_last_production_environment(
        tmp_path: Path, layout: str, orchestrator: str) -> None:
    _, last_production, _ = LAYOUTS[layout]
    out = rendered(tmp_path, layout, orchestrator)
    names = jenkins_stage_names((out / "Jenkinsfile").read_text("utf-8"))
    assert len(names) == len(set(names)), names
    if last_production is None:
        assert "Registry champion" not in names
        return
    assert names.count("Registry champion") == 1
    assert names[names.index("Registry champion") - 1] == f"Deploy {last_production}"
    if orchestrator == "jenkins":
        retrain = jenkins_stage_names((out / "Jenkinsfile.retrain").read_text("utf-8"))
        assert retrain == ["Set up", "Data checks", "Train", "Evaluate", "Register", "Propose"]


@pytest.mark.parametrize("orchestrator", ["gitlab", "jenkins"])
def test_two_production_regions_pass_the_real_validators(tmp_path: Path, orchestrator: str) -> None:
    """gitlab-ci-local, Groovy and the rest parse what was rendered (skipped outside CI without them)."""
    out = rendered(tmp_path, "two-production-regions", orchestrator)
    checked = {r.path for r in assert_tree_conforms(out) if r.status == "PASS"}
    assert {".gitlab-ci.yml", "Jenkinsfile"} <= checked


# ------------------------------------------------------------------------------- the mechanism

def test_a_name_claimed_twice_names_both_claimants() -> None:
    names = UniqueNames(".gitlab-ci.yml job")
    assert names.claim("lint", "ci.tests.lint") == "lint"
    with pytest.raises(NameClash, match=r"\.gitlab-ci\.yml job name 'lint' was planned twice: "
                                        r"for ci\.tests\.lint and for environment 'x'"):
        names.claim("lint", "environment 'x'")


def test_a_clash_fails_at_plan_time_not_after_rendering(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the naming scheme to give two environments' jobs one name, planning stops, naming it."""
    spec_file = tmp_path / "mlops.yaml"
    spec_file.write_text(spec_text(LAYOUTS["two-production-regions"][0], "gitlab"), encoding="utf-8")
    real_jobs = stages._jobs
    monkeypatch.setattr(stages, "_jobs", lambda spec, env, flow: [
        replace(job, name=job.name.replace(env.name, "prod")) for job in real_jobs(spec, env, flow)])
    spec = normalise(load_valid_spec(spec_file).data, "mlops.yaml")
    with pytest.raises(NameClash, match=r"job name 'promote-prod' was planned twice: for the 'Promote' step of "
                                        r"environment 'prod-eu' and for the 'Promote' step of environment 'prod-us'"):
        plan(spec)


# ------------------------------------------------------------------- verification failure = bug

def test_an_artifact_failing_verification_is_a_bug_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec_file, out = tmp_path / "mlops.yaml", tmp_path / "out"
    spec_file.write_text(spec_text(LAYOUTS["two-production-regions"][0], "gitlab"), encoding="utf-8")

    def failing_verify(files: list[Any]) -> None:
        raise VerificationError("rendered artifacts failed verification; nothing was written:\n"
                                "  .gitlab-ci.yml (from spec field 'ci'): duplicate key 'x' on line 3")

    monkeypatch.setattr(engine, "verify", failing_verify)
    code, err = cli("render", str(spec_file), "--out", str(out))
    assert code == EXIT_BUG == 3
    assert "Traceback" not in err
    assert err.startswith("mlopsgen: internal error (a bug, exit 3): rendered artifacts failed verification")
    assert "duplicate key 'x' on line 3" in err and "please report it" in err
    assert not out.exists() or not any(out.iterdir())
