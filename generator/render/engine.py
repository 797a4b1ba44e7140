"""The one-directional pipeline: load → validate → normalise → plan → render → verify.

Writing and committing are the caller's next step; nothing here touches the output directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from generator.artifacts import RenderedFile
from generator.errors import Problem
from generator.model import Spec
from generator.render.plan import plan
from generator.render.rendering import render
from generator.render.verify import verify
from generator.spec.intake import load_valid_spec, spec_warnings
from generator.spec.normalise import normalise


@dataclass(frozen=True)
class Build:
    spec: Spec
    files: list[RenderedFile]
    warnings: tuple[Problem, ...] = ()  # what the spec allows but should think twice about


def spec_source(spec_path: Path, out_dir: Path) -> str:
    """How generated files name the spec: by its path in the repository they are rendered for,
    whose root is the output directory. A spec inside it is named by its relative path (with '/');
    a spec elsewhere belongs at the root under its own file name (see spec_outside), because no
    generated file may name a path outside its repository."""
    relative = _relative(spec_path, out_dir)
    return spec_path.name if relative.parts[:1] == (os.pardir,) else relative.as_posix()


def spec_outside(spec_path: Path, out_dir: Path) -> bool:
    """True when the spec is not inside the output directory (the generated files then expect a
    copy of it at the root, named as spec_source says)."""
    return _relative(spec_path, out_dir).parts[:1] == (os.pardir,)


def _relative(spec_path: Path, out_dir: Path) -> Path:
    return Path(os.path.relpath(spec_path.resolve(), out_dir.resolve()))


def build(spec_path: Path, out_dir: Path) -> Build:
    loaded = load_valid_spec(spec_path)
    spec = normalise(loaded.data, spec_source(spec_path, out_dir))
    files = [render(spec, artifact) for artifact in plan(spec)]
    verify(files)
    return Build(spec, files, tuple(spec_warnings(loaded)))
