"""`mlopsgen check`: missing, hand-edited, stale, orphaned and not-generated files, and the
pre-commit hook that runs it."""

from __future__ import annotations

import json

import yaml
from conftest import FRAUD_GITOPS, REPO, Project, remove_fraud_production

from generator.errors import EXIT_OUT_OF_DATE

INFERENCE_SERVICE = f"{FRAUD_GITOPS}/base/inferenceservice.yaml"


def check(cli, project: Project, *extra: str):  # type: ignore[no-untyped-def]
    return cli("check", project.spec, "--dir", project.out, *extra)


def check_json(cli, project: Project) -> dict:  # type: ignore[type-arg]
    result = check(cli, project, "--format", "json")
    payload = json.loads(result.out)
    assert result.code == (0 if payload["ok"] else EXIT_OUT_OF_DATE)
    return payload


def statuses(payload: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {f["path"]: f["status"] for f in payload["findings"]}


def test_passes_right_after_render(rendered_fraud: Project, cli) -> None:
    result = check(cli, rendered_fraud)
    assert result.code == 0, result.text
    assert "all" in result.out and "current" in result.out
    assert check_json(cli, rendered_fraud) == {"ok": True, "fix": None, "findings": []}


def test_passes_for_the_churn_example(churn: Project, cli) -> None:
    assert cli("render", churn.spec, "--out", churn.out).code == 0
    assert check(cli, churn).code == 0


def test_fails_before_any_render(fraud: Project, cli) -> None:
    payload = check_json(cli, fraud)
    assert not payload["ok"]
    assert set(statuses(payload).values()) == {"missing"}


def test_deleted_file_is_missing(rendered_fraud: Project, cli) -> None:
    (rendered_fraud.out / "Dockerfile").unlink()
    result = check(cli, rendered_fraud)
    assert result.code == EXIT_OUT_OF_DATE
    assert "missing" in result.out and "Dockerfile" in result.out
    assert statuses(check_json(cli, rendered_fraud)) == {"Dockerfile": "missing"}


def test_edited_body_is_hand_edited(rendered_fraud: Project, cli) -> None:
    path = rendered_fraud.out / INFERENCE_SERVICE
    path.write_text(path.read_text().replace("maxReplicas: 10", "maxReplicas: 50"))
    result = check(cli, rendered_fraud)
    assert result.code == EXIT_OUT_OF_DATE
    assert f"hand-edited  {INFERENCE_SERVICE}" in result.out
    assert "render refuses to overwrite them without --force" in result.out
    assert statuses(check_json(cli, rendered_fraud)) == {INFERENCE_SERVICE: "hand-edited"}


def test_removed_marker_is_hand_edited(rendered_fraud: Project, cli) -> None:
    path = rendered_fraud.out / INFERENCE_SERVICE
    path.write_text(path.read_text().split("\n", 1)[1])  # drop the marker line
    assert statuses(check_json(cli, rendered_fraud)) == {INFERENCE_SERVICE: "hand-edited"}


def test_spec_edited_after_render_is_stale(rendered_fraud: Project, cli) -> None:
    rendered_fraud.edit_spec("maxReplicas: 10", "maxReplicas: 12")
    payload = check_json(cli, rendered_fraud)
    found = statuses(payload)
    assert found[INFERENCE_SERVICE] == "stale"
    assert set(found.values()) == {"stale"}
    detail = next(f["detail"] for f in payload["findings"] if f["path"] == INFERENCE_SERVICE)
    assert "older version of the spec" in detail


def test_removed_environment_is_orphaned(rendered_fraud: Project, cli) -> None:
    remove_fraud_production(rendered_fraud)
    found = statuses(check_json(cli, rendered_fraud))
    overlay = f"{FRAUD_GITOPS}/overlays/production"
    for path in (f"{overlay}/environment.yaml", f"{overlay}/kustomization.yaml",
                 f"{FRAUD_GITOPS}/argocd/application-production.yaml"):
        assert found[path] == "orphaned"
    result = check(cli, rendered_fraud)
    assert f"orphaned     {overlay}/environment.yaml" in result.out


def test_file_without_marker_at_planned_path_is_not_generated(fraud: Project, cli) -> None:
    assert cli("render", fraud.spec, "--out", fraud.out).code == 0
    # the Jenkinsfile becomes a planned path; the one on disk is hand-written
    (fraud.out / "Jenkinsfile").write_text("pipeline { agent any }\n")
    fraud.edit_spec("targets: [gitlab]", "targets: [gitlab, jenkins]")
    found = statuses(check_json(cli, fraud))
    assert found["Jenkinsfile"] == "not-generated"


def test_hand_written_file_in_fresh_dir_is_not_generated(fraud: Project, cli) -> None:
    fraud.out.mkdir()
    (fraud.out / "Dockerfile").write_text("FROM python:3.11-slim\n")
    found = statuses(check_json(cli, fraud))
    assert found["Dockerfile"] == "not-generated"


def test_every_finding_is_printed_with_its_path_and_the_fix(rendered_fraud: Project, cli) -> None:
    (rendered_fraud.out / "Dockerfile").unlink()
    ci = rendered_fraud.out / ".gitlab-ci.yml"
    ci.write_text(ci.read_text() + "# note\n")
    result = check(cli, rendered_fraud)
    assert result.code == EXIT_OUT_OF_DATE
    lines = result.out.splitlines()
    assert any(line.startswith("missing") and "Dockerfile" in line for line in lines)
    assert any(line.startswith("hand-edited") and ".gitlab-ci.yml" in line for line in lines)
    assert f"mlopsgen render {rendered_fraud.spec} --out {rendered_fraud.out}" in result.out


def test_json_format(rendered_fraud: Project, cli) -> None:
    (rendered_fraud.out / "Dockerfile").unlink()
    payload = check_json(cli, rendered_fraud)
    assert set(payload) == {"ok", "fix", "findings"}
    assert payload["ok"] is False
    assert payload["fix"] == f"mlopsgen render {rendered_fraud.spec} --out {rendered_fraud.out}"
    assert payload["findings"] == [{"path": "Dockerfile", "status": "missing", "detail": "not generated yet"}]


def test_state_files_are_not_compared(rendered_fraud: Project, cli) -> None:
    release = rendered_fraud.gitops / "overlays/staging/release.yaml"
    release.write_text("- op: replace\n  path: /spec/predictor/containers/0/image\n  value: x:1\n")
    assert check(cli, rendered_fraud).code == 0


def test_pre_commit_hook_runs_check() -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert isinstance(hooks, list)
    by_id = {hook["id"]: hook for hook in hooks}
    hook = by_id["mlopsgen-check"]
    assert hook["entry"].split()[:2] == ["mlopsgen", "check"]
    # it runs whenever anything is staged: a staged hand edit of a generated file (and not only a
    # staged spec) must fail it; the spec is its argument, never a staged file name
    for hook in hooks:
        assert hook["always_run"] is True and hook["pass_filenames"] is False and "files" not in hook, hook
        assert hook["args"] == ["mlops.yaml"]
    assert hook["name"] and hook["language"]
