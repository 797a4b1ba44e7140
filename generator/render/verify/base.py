"""What every verifier is: one syntax's checks over one rendered file, given what cross-file checks
need to know about the other files of the same render."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from generator.artifacts import RenderedFile
from generator.frozen import frozen


@frozen
class VerificationContext:
    """What a verifier may know beyond its own file: a kustomization may only refer to rendered
    files; a verifier that runs a tool may run it on all its files of the render at once."""

    rendered_paths: frozenset[str]
    files: tuple[RenderedFile, ...] = ()


class Verifier(Protocol):
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        """Each problem with the file as one message, in the order found; nothing when it is sound."""
        ...
