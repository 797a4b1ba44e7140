"""`mlopsgen check` decides "all current" from digests alone (generator/deliver/freshness.py:
current_without_rendering), and renders only when something may differ, to say what."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, Project

from generator.deliver import freshness
from generator.deliver.writer import MANIFEST
from generator.errors import EXIT_OUT_OF_DATE

EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/mlops.yaml"))
HEAVY = ("yaml", "jinja2", "jsonschema", "jsonschema_rs", "generator.render", "generator.spec", "generator.runtimes")

# runs `mlopsgen check` in a fresh interpreter, then names the heavy modules it imported
PROBE = """
import json, runpy, sys
sys.argv = ["mlopsgen", *sys.argv[2:]]
code = 0
try:
    runpy.run_module("generator", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "modules": sorted(sys.modules)}))
"""


def check_in_fresh_interpreter(project: Project) -> tuple[int, set[str], str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, "-", "check", str(project.spec), "--dir", str(project.out)],
                          capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                          check=False)
    *printed, probe = proc.stdout.splitlines()
    report = json.loads(probe)
    imported = {m for m in report["modules"] if any(m == h or m.startswith(h + ".") for h in HEAVY)}
    return report["exit"], imported, "\n".join(printed)


def test_current_files_are_confirmed_without_parsing_the_spec_or_rendering(rendered_fraud: Project) -> None:
    code, imported, printed = check_in_fresh_interpreter(rendered_fraud)
    assert code == 0, printed
    assert printed == "fraud-detector: all 25 generated files are current"
    assert imported == set(), "the digest path must not import a YAML parser, Jinja2 or a validator"


def test_a_changed_spec_is_rendered_to_say_what_differs(rendered_fraud: Project, cli) -> None:
    rendered_fraud.edit_spec("maxReplicas: 10", "maxReplicas: 12")
    code, imported, printed = check_in_fresh_interpreter(rendered_fraud)
    assert code == EXIT_OUT_OF_DATE
    assert {"jinja2", "jsonschema_rs"} <= imported
    assert "stale" in printed


def test_a_comment_in_the_spec_makes_only_the_manifest_stale(rendered_fraud: Project, cli) -> None:
    """The manifest records the spec it was rendered from: a spec edit of any kind is re-rendered."""
    rendered_fraud.spec.write_text(rendered_fraud.spec.read_text(encoding="utf-8") + "# reviewed\n",
                                   encoding="utf-8")
    payload = json.loads(cli("check", rendered_fraud.spec, "--dir", rendered_fraud.out, "--format", "json").out)
    assert [(f["path"], f["status"]) for f in payload["findings"]] == [(MANIFEST, "stale")]
    assert "spec" in payload["findings"][0]["detail"]
    assert cli("render", rendered_fraud.spec, "--out", rendered_fraud.out).code == 0
    assert freshness.current_without_rendering(rendered_fraud.spec, rendered_fraud.out) is not None


@pytest.mark.parametrize("damage", ["edit a generated file", "delete a state file", "drop the digest",
                                    "another mlopsgen version", "corrupt the manifest", "edit the manifest",
                                    "move the spec"])
def test_anything_the_digests_cannot_vouch_for_goes_to_the_full_comparison(
        rendered_fraud: Project, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    out = rendered_fraud.out
    spec = rendered_fraud.spec
    manifest = out / MANIFEST
    assert freshness.current_without_rendering(spec, out) == freshness.Current("fraud-detector", 25)
    if damage == "edit a generated file":
        (out / "Dockerfile").write_text((out / "Dockerfile").read_text(encoding="utf-8") + "# mine\n",
                                        encoding="utf-8")
    elif damage == "delete a state file":
        raw = json.loads(manifest.read_text(encoding="utf-8"))
        (out / raw["state"][0]).unlink()
    elif damage == "drop the digest":  # a manifest written before digests existed
        raw = json.loads(manifest.read_text(encoding="utf-8"))
        del raw["inputs"]
        manifest.write_text(json.dumps(raw), encoding="utf-8")
    elif damage == "another mlopsgen version":
        monkeypatch.setattr(freshness, "__version__", "99.0.0")
    elif damage == "corrupt the manifest":
        manifest.write_text("{not json", encoding="utf-8")
    elif damage == "edit the manifest":  # its digest still matches, but it no longer lists the state files
        raw = json.loads(manifest.read_text(encoding="utf-8"))
        del raw["state"]
        manifest.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")
    else:  # the same bytes under another name: generated files quote the spec's path
        spec = spec.rename(spec.with_name("model.yaml"))
    assert freshness.current_without_rendering(spec, out) is None


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_golden_tree_is_current_by_its_digests(example: Path) -> None:
    assert freshness.current_without_rendering(example / "mlops.yaml", example / "rendered") is not None
