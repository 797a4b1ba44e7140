"""Renders use a plain Jinja environment (generator/render/rendering.py); every example renders to
the same bytes in Jinja's immutable sandbox, so no blueprint does more than read its values."""

from __future__ import annotations

from pathlib import Path

import jinja2.sandbox
import pytest

from generator.render import rendering
from generator.render.engine import build

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*/mlops.yaml"))


@pytest.mark.parametrize("spec", EXAMPLES, ids=[p.parent.name for p in EXAMPLES])
def test_every_example_renders_the_same_in_the_immutable_sandbox(spec: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    plain = {f.path: f.content for f in build(spec, tmp_path).files}
    sandboxed = rendering.environment(sandboxed=True)
    assert isinstance(sandboxed, jinja2.sandbox.ImmutableSandboxedEnvironment)
    monkeypatch.setattr(rendering, "environment", lambda: sandboxed)
    assert {f.path: f.content for f in build(spec, tmp_path).files} == plain


def test_the_sandbox_refuses_a_blueprint_that_changes_its_values() -> None:
    template = rendering.environment(sandboxed=True).from_string("{{ items.append(1) }}")
    with pytest.raises(jinja2.sandbox.SecurityError):
        template.render(items=[])


def test_each_kind_of_environment_keeps_its_own_compiled_blueprints(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    """Sandboxed code calls through the environment and plain code does not; Jinja keys its cache by
    the source alone, so the two must not share a directory."""
    monkeypatch.setenv("MLOPSGEN_CACHE_DIR", str(tmp_path))
    places = {getattr(rendering._bytecode_cache(kind), "directory", None) for kind in ("plain", "sandboxed")}
    assert len(places) == 2 and None not in places
