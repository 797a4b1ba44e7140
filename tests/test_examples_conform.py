"""The real third-party validators accept every example's rendered output (zero failures)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conformance.validators import assert_tree_conforms

REPO = Path(__file__).resolve().parent.parent
RENDERED = sorted((REPO / "examples").glob("*/rendered"))


@pytest.mark.parametrize("rendered", RENDERED, ids=lambda p: p.parent.name)
def test_example_output_passes_real_validators(rendered: Path) -> None:
    results = assert_tree_conforms(rendered)
    checked = {r.path for r in results if r.status == "PASS"}
    assert any(p.endswith(".gitlab-ci.yml") or p.endswith("Jenkinsfile") for p in checked)
    assert "Dockerfile" in checked
    assert any(p.endswith("kustomization.yaml") for p in checked)


def test_platform_fleet_pipeline_passes_real_validators() -> None:
    results = assert_tree_conforms(REPO / "examples" / "platform-fleet")
    assert [r.path for r in results if r.status == "PASS"] == [".gitlab-ci.yml"]


def test_this_projects_own_pipelines_pass_real_validators(tmp_path: Path) -> None:
    import shutil

    for name in (".gitlab-ci.yml", "Jenkinsfile"):
        shutil.copy(REPO / name, tmp_path / name)
    results = assert_tree_conforms(tmp_path)
    assert sorted(r.path for r in results if r.status == "PASS") == [".gitlab-ci.yml", "Jenkinsfile"]
