"""The one-directional pipeline: load → validate → normalise → plan → render → verify.

Writing and committing are the caller's next step; nothing here touches the output directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from generator.artifacts import RenderedFile
from generator.intake import load_valid_spec
from generator.model import Spec
from generator.normalise import normalise
from generator.plan import plan
from generator.rendering import render
from generator.verify import verify


@dataclass(frozen=True)
class Build:
    spec: Spec
    files: list[RenderedFile]


def spec_source(spec_path: Path, out_dir: Path) -> str:
    """How generated files name the spec: relative to the output directory, with '/'."""
    relative = os.path.relpath(spec_path.resolve(), out_dir.resolve())
    return Path(relative).as_posix()


def build(spec_path: Path, out_dir: Path) -> Build:
    loaded = load_valid_spec(spec_path)
    spec = normalise(loaded.data, spec_source(spec_path, out_dir))
    files = [render(spec, artifact) for artifact in plan(spec)]
    verify(files)
    return Build(spec, files)
