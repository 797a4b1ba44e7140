"""A .dockerignore: every line is a valid pattern (one that matches nothing is still valid), so there
is nothing to check; the entry exists so that every syntax is decided on, not forgotten."""

from __future__ import annotations

from collections.abc import Iterator

from generator.artifacts import RenderedFile
from generator.frozen import frozen
from generator.render.verify.base import VerificationContext


@frozen
class NothingToCheck:
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        return iter(())
