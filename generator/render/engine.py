"""The one-directional pipeline: load → validate → normalise → plan → render → verify.

Writing and committing are the caller's next step; nothing here touches the output directory.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from generator import __version__
from generator.artifacts import Provenance, RenderedFile, inputs_digest, spec_source
from generator.errors import Problem
from generator.frozen import frozen
from generator.model import Spec
from generator.render.plan import plan
from generator.render.rendering import render
from generator.render.verify import verify
from generator.spec.intake import checked_spec, spec_warnings


@frozen
class Build:
    spec: Spec
    files: list[RenderedFile]
    provenance: Provenance
    warnings: tuple[Problem, ...] = ()  # what the spec allows but should think twice about


def build(spec_path: Path, out_dir: Path) -> Build:
    loaded, checked = checked_spec(spec_path)
    source = spec_source(spec_path, out_dir)
    spec = checked if checked.source == source else replace(checked, source=source)  # normalised once
    files = [render(spec, artifact) for artifact in plan(spec)]
    verify(files)
    provenance = Provenance(source, spec.name, inputs_digest(__version__, source, loaded.sha256))
    return Build(spec, files, provenance, tuple(spec_warnings(loaded, checked)))
