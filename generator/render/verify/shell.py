"""A shell script: bash parses it without running it (`bash -n`)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from generator.artifacts import RenderedFile
from generator.render.verify.base import VerificationContext


@dataclass(frozen=True)
class ShellVerifier:
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        error = _bash_syntax_error(file.content)
        if error:
            yield "bash -n: " + error


@lru_cache(maxsize=256)
def _bash_syntax_error(script: str) -> str:
    """bash -n's complaint about a script ('' when it parses): a process per distinct script, so a
    fleet whose repositories render the same script pays once."""
    bash = shutil.which("bash")
    if bash is None:  # pragma: no cover - every supported platform has bash
        return ""
    result = subprocess.run([bash, "-n"], input=script.encode(), capture_output=True, check=False)
    return result.stderr.decode(errors="replace").strip() or "syntax error" if result.returncode else ""
