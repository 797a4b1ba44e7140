"""Hand edits are never lost silently; --diff shows what a command changes; output is portable.

A generated file whose content no longer matches its marker's digest was edited by hand: render
and sync refuse to overwrite or delete it without --force, show a unified diff of what would be
lost, and write nothing. check reports it (exit 4, files out of date; exit 1 is an invalid spec).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from conftest import EXAMPLES, Project, edit_text, snapshot

from generator.errors import EXIT_OUT_OF_DATE, EXIT_USER_ERROR

HINT = ("    hint: move the edits into the spec (or a file mlopsgen does not generate), then run again; --force "
        "overwrites or deletes them anyway\n")


def edit_dockerfile(project: Project) -> str:
    dockerfile = project.out / "Dockerfile"
    original = dockerfile.read_text()
    dockerfile.write_text(original.replace("USER ", "# tuned by hand\nUSER ", 1))
    return original


def test_render_refuses_to_overwrite_a_hand_edited_file_and_shows_the_diff(rendered_fraud: Project, cli) -> None:
    edit_dockerfile(rendered_fraud)
    rendered_fraud.edit_spec("maxReplicas: 10", "maxReplicas: 12")  # another file would change too
    before = snapshot(rendered_fraud.out)
    result = cli("render", rendered_fraud.spec, "--out", rendered_fraud.out)
    assert result.code == EXIT_USER_ERROR
    lines = result.err.splitlines(keepends=True)
    assert lines[0] == ("mlopsgen: 1 generated file(s) were edited by hand since mlopsgen wrote them: Dockerfile; "
                        "this diff shows what would be lost\n")
    assert lines[1:3] == ["--- a/Dockerfile\n", "+++ b/Dockerfile\n"]
    assert "-# tuned by hand\n" in lines and result.err.endswith(HINT)
    assert snapshot(rendered_fraud.out) == before  # nothing written, not even the other file


def test_render_force_overwrites_the_hand_edit_and_says_so(rendered_fraud: Project, cli) -> None:
    original = edit_dockerfile(rendered_fraud)
    result = cli("render", rendered_fraud.spec, "--out", rendered_fraud.out, "--force")
    assert result.code == 0, result.text
    assert "update    Dockerfile (hand edits discarded: --force)" in result.out.splitlines()
    assert (rendered_fraud.out / "Dockerfile").read_text() == original


def switch_to_jenkins(project: Project) -> None:
    project.edit_spec("targets: [gitlab]", "targets: [jenkins]")
    project.edit_spec("orchestrator: gitlab", "orchestrator: jenkins")


def test_a_hand_edited_file_is_not_deleted_when_it_is_no_longer_generated(rendered_fraud: Project, cli) -> None:
    ci = rendered_fraud.out / ".gitlab-ci.yml"
    ci.write_text(ci.read_text() + "# a job added by hand\n")
    switch_to_jenkins(rendered_fraud)
    before = snapshot(rendered_fraud.out)
    result = cli("render", rendered_fraud.spec, "--out", rendered_fraud.out, "--format", "json")
    assert result.code == EXIT_USER_ERROR
    payload = json.loads(result.out)
    assert payload["error"].startswith("1 generated file(s) were edited by hand since mlopsgen wrote them: "
                                       ".gitlab-ci.yml")
    (lost,) = payload["files"]
    assert (lost["path"], lost["action"]) == (".gitlab-ci.yml", "delete")
    assert lost["diff"].startswith("--- a/.gitlab-ci.yml\n+++ /dev/null\n")
    assert "-# a job added by hand\n" in lost["diff"]
    assert snapshot(rendered_fraud.out) == before
    assert cli("render", rendered_fraud.spec, "--out", rendered_fraud.out, "--force").code == 0
    assert not ci.exists() and (rendered_fraud.out / "Jenkinsfile").exists()


def test_an_untouched_orphan_is_still_deleted(rendered_fraud: Project, cli) -> None:
    switch_to_jenkins(rendered_fraud)
    result = cli("render", rendered_fraud.spec, "--out", rendered_fraud.out)
    assert result.code == 0, result.text
    assert "delete    .gitlab-ci.yml" in result.out.splitlines()
    assert not (rendered_fraud.out / ".gitlab-ci.yml").exists()


def test_render_diff_shows_unified_diffs_as_kubectl_diff_does(rendered_fraud: Project, cli) -> None:
    rendered_fraud.edit_spec("maxReplicas: 10", "maxReplicas: 12")
    result = cli("render", rendered_fraud.spec, "--out", rendered_fraud.out, "--dry-run", "--diff")
    assert result.code == 0, result.text
    isvc = "apps/fraud-detector/base/inferenceservice.yaml"
    assert f"would update    {isvc}\n--- a/{isvc}\n+++ b/{isvc}\n" in result.out
    assert "-    maxReplicas: 10\n+    maxReplicas: 12\n" in result.out
    assert "maxReplicas: 10" in (rendered_fraud.out / isvc).read_text()  # a dry run writes nothing


def test_check_diff_and_exit_codes(rendered_fraud: Project, cli) -> None:
    assert cli("check", rendered_fraud.spec, "--dir", rendered_fraud.out).code == 0
    edit_dockerfile(rendered_fraud)
    result = cli("check", rendered_fraud.spec, "--dir", rendered_fraud.out, "--diff")
    assert result.code == EXIT_OUT_OF_DATE == 4
    assert "hand-edited  Dockerfile: changed by hand after it was generated\n--- a/Dockerfile\n" in result.out
    edit_text(rendered_fraud.spec, "maxReplicas: 10", "maxReplicas: -1")  # now the spec itself is invalid
    invalid = cli("check", rendered_fraud.spec, "--dir", rendered_fraud.out)
    assert invalid.code == EXIT_USER_ERROR == 1 and "maxReplicas" in invalid.err


def test_render_elsewhere_names_no_path_outside_the_repository(tmp_path: Path, cli) -> None:
    out = tmp_path / "fraud-detector"
    spec = EXAMPLES / "fraud-detector" / "mlops.yaml"
    result = cli("render", spec, "--out", out)
    assert result.code == 0, result.text
    assert f"note: {spec} is outside {out}: the generated files expect the spec at the root of the repository, " \
           f"as {out / 'mlops.yaml'}" in result.err
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert str(EXAMPLES.parent) not in text and not re.search(r"[^ \"'\[]+/mlops\.yaml", text), path
    ci = (out / ".gitlab-ci.yml").read_text()
    assert 'changes: ["mlops.yaml"]' in ci and 'mlopsgen check "mlops.yaml" --dir .' in ci


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          capture_output=True, text=True, check=True).stdout


def local_repo(tmp_path: Path, cli) -> Path:  # type: ignore[no-untyped-def]
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "mlops.yaml").write_bytes((EXAMPLES / "fraud-detector" / "mlops.yaml").read_bytes())
    assert cli("sync", repo / "mlops.yaml").code == 0
    return repo


def test_local_sync_commits_the_edited_spec_with_its_outputs(tmp_path: Path, cli) -> None:
    """The choice for the local backend: the spec is committed together with the files it generated,
    so HEAD always passes `mlopsgen check` and nothing is left modified."""
    repo = local_repo(tmp_path, cli)
    edit_text(repo / "mlops.yaml", "maxReplicas: 10", "maxReplicas: 12")
    result = cli("sync", repo / "mlops.yaml")
    assert result.code == 0, result.text
    assert "  update  mlops.yaml" in result.out
    assert git(repo, "status", "--porcelain") == ""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    assert cli("check", clone / "mlops.yaml").code == 0  # HEAD itself is consistent


def test_local_sync_refuses_to_overwrite_uncommitted_work(tmp_path: Path, cli) -> None:
    repo = local_repo(tmp_path, cli)
    head = git(repo, "rev-parse", "HEAD")
    (repo / "Dockerfile").write_text((repo / "Dockerfile").read_text() + "# trying something\n")
    edit_text(repo / "mlops.yaml", "maxReplicas: 10", "maxReplicas: 12")
    (repo / "apps/fraud-detector/base/inferenceservice.yaml").write_text("# my experiment\n")
    result = cli("sync", repo / "mlops.yaml")
    assert result.code == EXIT_USER_ERROR
    assert result.err.startswith(f"mlopsgen: {repo}: uncommitted changes to apps/fraud-detector/base/"
                                 "inferenceservice.yaml would be overwritten by the commit; commit, stash or "
                                 "discard them (git checkout -- PATH) first\n")
    assert git(repo, "rev-parse", "HEAD") == head
    assert (repo / "apps/fraud-detector/base/inferenceservice.yaml").read_text() == "# my experiment\n"
    assert (repo / "Dockerfile").read_text().endswith("# trying something\n")


def test_sync_dry_run_diff(tmp_path: Path, cli) -> None:
    repo = local_repo(tmp_path, cli)
    edit_text(repo / "mlops.yaml", "maxReplicas: 10", "maxReplicas: 12")
    result = cli("sync", repo / "mlops.yaml", "--dry-run", "--diff")
    assert result.code == 0, result.text
    assert "--- a/mlops.yaml\n+++ b/mlops.yaml\n" in result.out
    assert "-    maxReplicas: 10\n+    maxReplicas: 12\n" in result.out
    assert git(repo, "status", "--porcelain") == " M mlops.yaml\n"
