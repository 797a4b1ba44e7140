"""Verify rendered artifacts before anything is written: parse each one, check it against the
official schemas vendored under schemas/vendor/, and check references between files.

One verifier per syntax (registry.VERIFIERS); this module only runs them and reports together.
"""

from __future__ import annotations

from generator.artifacts import RenderedFile
from generator.errors import VerificationError
from generator.render.verify.base import VerificationContext
from generator.render.verify.registry import VERIFIERS


def verify(files: list[RenderedFile]) -> None:
    """Raise VerificationError naming every failing artifact and the spec section behind it."""
    context = VerificationContext(rendered_paths=frozenset(f.path for f in files), files=tuple(files))
    failures = [f"{f.path} (from spec field '{f.origin}'): {message}"
                for f in files for message in VERIFIERS[f.syntax].check(f, context)]
    if failures:
        raise VerificationError("rendered artifacts failed verification; nothing was written:\n  "
                                + "\n  ".join(failures),
                                "this is a bug in mlopsgen or its blueprints (a spec that validates must render): "
                                "please report it with the spec")
