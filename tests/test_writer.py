"""generator/deliver/writer.py through `mlopsgen render`: create / update / unchanged / delete / keep /
conflict, atomic writes, and "verify everything before writing anything"."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from conftest import FRAUD_GITOPS, Project, remove_fraud_production, snapshot

import generator.render.engine
from generator.artifacts import RenderedFile, read_marker
from generator.deliver.writer import MANIFEST, write_atomically
from generator.errors import EXIT_BUG

RELEASE_STAGING = f"{FRAUD_GITOPS}/overlays/staging/release.yaml"
RELEASE_PRODUCTION = f"{FRAUD_GITOPS}/overlays/production/release.yaml"
STATE_FILES = {RELEASE_STAGING, RELEASE_PRODUCTION,
               f"{FRAUD_GITOPS}/overlays/staging/release-history.yaml",
               f"{FRAUD_GITOPS}/overlays/production/release-history.yaml"}


def render_json(cli, project: Project, *extra: str) -> dict[str, str]:
    """path -> action of a `render --format json`."""
    result = cli("render", project.spec, "--out", project.out, "--format", "json", *extra)
    assert result.code == 0, result.text
    return {f["path"]: f["action"] for f in json.loads(result.out)["files"]}


def files_under(directory: Path) -> set[str]:
    return {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()}


def test_first_render_creates_every_file(fraud: Project, cli) -> None:
    actions = render_json(cli, fraud)
    assert set(actions.values()) == {"create"}
    assert MANIFEST in actions and ".gitlab-ci.yml" in actions and set(actions) >= STATE_FILES
    assert files_under(fraud.out) == set(actions)


def test_second_render_rewrites_nothing(rendered_fraud: Project, cli) -> None:
    before = snapshot(rendered_fraud.out)
    actions = render_json(cli, rendered_fraud)
    assert {a for p, a in actions.items() if p not in STATE_FILES} == {"unchanged"}
    assert {actions[p] for p in STATE_FILES} == {"keep"}
    assert snapshot(rendered_fraud.out) == before  # same bytes, modes, inodes and mtimes


def test_text_output_lists_only_changes(rendered_fraud: Project, cli) -> None:
    result = cli("render", rendered_fraud.spec, "--out", rendered_fraud.out)
    assert result.code == 0
    # unchanged files are not listed (kept state files may be)
    assert all(line.startswith("keep ") for line in result.out.splitlines()), result.out
    assert "unchanged" in result.err and "fraud-detector:" in result.err


def test_spec_change_updates_only_files_that_depend_on_it(rendered_fraud: Project, cli) -> None:
    rendered_fraud.edit_spec("maxReplicas: 10", "maxReplicas: 12")
    actions = render_json(cli, rendered_fraud)
    # the replica bound is used by the base InferenceService only
    assert actions[f"{FRAUD_GITOPS}/base/inferenceservice.yaml"] == "update"
    assert "maxReplicas: 12" in (rendered_fraud.gitops / "base/inferenceservice.yaml").read_text()
    assert {actions[p] for p in STATE_FILES} == {"keep"}


def test_spec_change_leaves_unaffected_files_unchanged(rendered_fraud: Project, cli) -> None:
    before = snapshot(rendered_fraud.out)
    rendered_fraud.edit_spec("maxReplicas: 10", "maxReplicas: 12")
    actions = render_json(cli, rendered_fraud)
    updated = {p for p, a in actions.items() if a == "update"}
    # only the artifact using the value changes, and the manifest that records each file's blob id
    assert updated == {f"{FRAUD_GITOPS}/base/inferenceservice.yaml", MANIFEST}
    assert snapshot(rendered_fraud.out)[".dockerignore"] == before[".dockerignore"]


def test_comment_only_spec_change_rewrites_only_the_manifest(rendered_fraud: Project, cli) -> None:
    """No generated file changes; the manifest does, because it records the digest of the spec it
    was rendered from (what lets `check` decide without rendering)."""
    rendered_fraud.edit_spec("  port: 8080\n", "  port: 8080  # the serving port\n")
    before = snapshot(rendered_fraud.out)
    actions = render_json(cli, rendered_fraud)
    assert {p for p, a in actions.items() if a not in ("unchanged", "keep")} == {MANIFEST}
    after = snapshot(rendered_fraud.out)
    assert {p for p in before if after[p] != before[p]} == {MANIFEST, ".mlopsgen"}  # the file and its directory


def test_removed_environment_deletes_its_files(rendered_fraud: Project, cli) -> None:
    remove_fraud_production(rendered_fraud)
    actions = render_json(cli, rendered_fraud)
    overlay = f"{FRAUD_GITOPS}/overlays/production"
    deleted = {p for p, a in actions.items() if a == "delete"}
    assert deleted == {f"{overlay}/environment.yaml", f"{overlay}/kustomization.yaml", f"{overlay}/dashboard.yaml",
                       f"{overlay}/prometheusrule.yaml", f"{overlay}/pdb.yaml",
                       f"{FRAUD_GITOPS}/argocd/application-production.yaml"}
    for path in deleted:
        assert not (rendered_fraud.out / path).exists()
    manifest = json.loads((rendered_fraud.out / MANIFEST).read_text())
    assert not [p for p in manifest["files"] + manifest["state"] if "production" in p]
    assert actions[MANIFEST] == "update"
    # render never deletes release state: only promote/rollback own it
    assert files_under(rendered_fraud.out / overlay) <= {"release.yaml", "release-history.yaml"}
    assert (rendered_fraud.out / f"{FRAUD_GITOPS}/overlays/staging/kustomization.yaml").is_file()


def test_deleting_files_removes_directories_left_empty(rendered_fraud: Project, cli) -> None:
    rendered_fraud.edit_spec("path: apps/fraud-detector", "path: deploy/fraud")
    actions = render_json(cli, rendered_fraud)
    assert actions[f"{FRAUD_GITOPS}/base/inferenceservice.yaml"] == "delete"
    assert actions["deploy/fraud/base/inferenceservice.yaml"] == "create"
    assert not (rendered_fraud.gitops / "base").exists()
    assert not (rendered_fraud.gitops / "argocd").exists()
    # only the release state stays behind
    assert files_under(rendered_fraud.gitops) == {
        f"overlays/{env}/{name}" for env in ("staging", "production")
        for name in ("release.yaml", "release-history.yaml")}


def test_orphan_without_marker_is_not_deleted(rendered_fraud: Project, cli) -> None:
    path = rendered_fraud.out / FRAUD_GITOPS / "overlays/production/environment.yaml"
    path.write_text("# my own file now\n- op: replace\n  path: /x\n  value: 1\n")
    remove_fraud_production(rendered_fraud)
    actions = render_json(cli, rendered_fraud)
    assert f"{FRAUD_GITOPS}/overlays/production/environment.yaml" not in actions
    assert path.read_text().startswith("# my own file now")


def test_file_not_generated_by_mlopsgen_is_never_overwritten(fraud: Project, cli) -> None:
    fraud.out.mkdir()
    (fraud.out / "Dockerfile").write_text("FROM python:3.11-slim\nCMD [\"python\"]\n")
    before = snapshot(fraud.out)
    result = cli("render", fraud.spec, "--out", fraud.out)
    assert result.code == 1
    assert "not generated by mlopsgen" in result.err and "Dockerfile" in result.err
    assert "Traceback" not in result.text
    assert snapshot(fraud.out) == before  # nothing else was written either


def test_conflict_in_already_rendered_dir_writes_nothing(rendered_fraud: Project, cli) -> None:
    # a file mlopsgen would now create (the Jenkinsfile) exists, hand-written
    (rendered_fraud.out / "Jenkinsfile").write_text("pipeline { agent any }\n")
    rendered_fraud.edit_spec("targets: [gitlab]", "targets: [gitlab, jenkins]")
    rendered_fraud.edit_spec("maxReplicas: 10", "maxReplicas: 12")
    before = snapshot(rendered_fraud.out)
    result = cli("render", rendered_fraud.spec, "--out", rendered_fraud.out, "--format", "json")
    assert result.code == 1
    error = json.loads(result.out)["error"]
    assert "not generated by mlopsgen" in error and "Jenkinsfile" in error
    assert snapshot(rendered_fraud.out) == before


def test_dry_run_writes_nothing(rendered_fraud: Project, cli) -> None:
    rendered_fraud.edit_spec("maxReplicas: 10", "maxReplicas: 12")
    before = snapshot(rendered_fraud.out)
    result = cli("render", rendered_fraud.spec, "--out", rendered_fraud.out, "--dry-run")
    assert result.code == 0
    assert f"would update    {FRAUD_GITOPS}/base/inferenceservice.yaml" in result.out
    assert snapshot(rendered_fraud.out) == before


def test_dry_run_into_missing_dir_creates_nothing(fraud: Project, cli) -> None:
    result = cli("render", fraud.spec, "--out", fraud.out, "--dry-run", "--format", "json")
    assert result.code == 0
    payload = json.loads(result.out)
    assert payload["dry_run"] is True
    assert {f["action"] for f in payload["files"]} == {"create"}
    assert not fraud.out.exists()


def test_state_file_is_seeded_then_kept(rendered_fraud: Project, cli) -> None:
    release = rendered_fraud.out / RELEASE_STAGING
    assert "fraud-detector:2.3.0" in release.read_text()
    release.write_text("- op: replace\n  path: /spec/predictor/containers/0/image\n  value: x:1\n")
    rendered_fraud.edit_spec('version: "2.3.0"', 'version: "2.4.0"')  # changes the seed's content
    actions = render_json(cli, rendered_fraud)
    assert actions[RELEASE_STAGING] == "keep"
    assert release.read_text().endswith("value: x:1\n")
    # ... and seeded again when it goes missing
    release.unlink()
    actions = render_json(cli, rendered_fraud)
    assert actions[RELEASE_STAGING] == "create"
    assert "fraud-detector:2.4.0" in release.read_text()


def test_json_output_lists_every_file_with_its_action(rendered_fraud: Project, cli) -> None:
    rendered_fraud.edit_spec("maxReplicas: 10", "maxReplicas: 12")
    (rendered_fraud.out / "Dockerfile").unlink()
    result = cli("render", rendered_fraud.spec, "--out", rendered_fraud.out, "--format", "json")
    assert result.code == 0
    payload = json.loads(result.out)
    assert payload["dry_run"] is False
    files = {f["path"]: f["action"] for f in payload["files"]}
    assert set(files) == files_under(rendered_fraud.out)
    assert files["Dockerfile"] == "create"
    assert files[RELEASE_PRODUCTION] == "keep"
    assert files[f"{FRAUD_GITOPS}/base/inferenceservice.yaml"] == "update"
    assert sum(payload["summary"].values()) == len(files)
    assert payload["summary"]["create"] == 1 and payload["summary"]["keep"] == 4


def test_release_script_is_executable_and_no_temp_files_remain(rendered_fraud: Project) -> None:
    script = rendered_fraud.out / "ci/mlopsgen-release.sh"
    assert script.stat().st_mode & stat.S_IXUSR
    assert not (rendered_fraud.out / "Dockerfile").stat().st_mode & stat.S_IXUSR
    assert not [p for p in rendered_fraud.out.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("executable, mode", [(True, 0o755), (False, 0o644)])
def test_write_atomically(tmp_path: Path, executable: bool, mode: int) -> None:
    target = tmp_path / "a" / "b" / "file.sh"
    write_atomically(target, b"one\n", executable)
    old_inode = target.stat().st_ino
    write_atomically(target, b"two\n", executable)
    assert target.read_bytes() == b"two\n"
    assert stat.S_IMODE(target.stat().st_mode) == mode
    assert target.stat().st_ino != old_inode  # replaced by rename, not rewritten in place
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.sh"]


def test_write_atomically_cleans_up_after_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "file"
    target.write_bytes(b"old\n")

    def fail(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("generator.deliver.writer.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"new\n")
    assert target.read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def _corrupt_gitlab_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make rendering produce a .gitlab-ci.yml whose job needs a job that does not exist.

    engine.py binds `render` at import, so the name to patch is generator.render.engine.render.
    """
    real = generator.render.engine.render

    def broken(spec, artifact) -> RenderedFile:  # type: ignore[no-untyped-def]
        rendered = real(spec, artifact)
        if artifact.path != ".gitlab-ci.yml":
            return rendered
        content = rendered.content + "ghost-job:\n  stage: test\n  script: [echo]\n  needs: [no-such-job]\n"
        return RenderedFile(rendered.path, content, rendered.syntax, rendered.origin, rendered.seed,
                            rendered.executable)

    monkeypatch.setattr(generator.render.engine, "render", broken)


def test_verification_failure_writes_nothing_in_empty_dir(fraud: Project, cli, monkeypatch) -> None:
    _corrupt_gitlab_ci(monkeypatch)
    result = cli("render", fraud.spec, "--out", fraud.out)
    assert result.code == EXIT_BUG  # a rendered artifact that fails verification is mlopsgen's bug
    assert ".gitlab-ci.yml (from spec field 'ci')" in result.err
    assert "no-such-job" in result.err and "nothing was written" in result.err
    assert "Traceback" not in result.text
    assert not fraud.out.exists()


def test_verification_failure_writes_nothing_over_old_render(rendered_fraud: Project, cli, monkeypatch) -> None:
    rendered_fraud.edit_spec("maxReplicas: 10", "maxReplicas: 12")  # would update many files
    (rendered_fraud.out / "Dockerfile").unlink()  # would create one
    before = snapshot(rendered_fraud.out)
    _corrupt_gitlab_ci(monkeypatch)
    result = cli("render", rendered_fraud.spec, "--out", rendered_fraud.out, "--format", "json")
    assert result.code == EXIT_BUG  # a rendered artifact that fails verification is mlopsgen's bug
    error = json.loads(result.out)["error"]
    assert ".gitlab-ci.yml (from spec field 'ci')" in error
    assert snapshot(rendered_fraud.out) == before


def test_verification_failure_in_a_manifest_names_the_spec_field(fraud: Project, cli, monkeypatch) -> None:
    real = generator.render.engine.render

    def broken(spec, artifact) -> RenderedFile:  # type: ignore[no-untyped-def]
        rendered = real(spec, artifact)
        if artifact.path.endswith("base/inferenceservice.yaml"):
            content = rendered.content.replace("maxReplicas: 10", "maxReplicas: ten")
            assert read_marker(content) is not None and content != rendered.content
            return RenderedFile(rendered.path, content, rendered.syntax, rendered.origin)
        return rendered

    monkeypatch.setattr(generator.render.engine, "render", broken)
    result = cli("render", fraud.spec, "--out", fraud.out)
    assert result.code == EXIT_BUG  # a rendered artifact that fails verification is mlopsgen's bug
    assert f"{FRAUD_GITOPS}/base/inferenceservice.yaml (from spec field 'serving')" in result.err
    assert "maxReplicas" in result.err
    assert not fraud.out.exists()
