"""A shell script: bash parses it without running it (`bash -n`)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from generator.artifacts import RenderedFile
from generator.render.verify.base import VerificationContext


@dataclass(frozen=True)
class ShellVerifier:
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        bash = shutil.which("bash")
        if bash is None:  # pragma: no cover - every supported platform has bash
            return
        result = subprocess.run([bash, "-n"], input=file.content.encode(), capture_output=True, check=False)
        if result.returncode:
            yield "bash -n: " + result.stderr.decode(errors="replace").strip()
