"""A shell script: bash parses it without running it (`bash -n`)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

from generator.artifacts import RenderedFile
from generator.render.verify.base import VerificationContext

# script -> bash -n's complaint ('' when it parses): a pure function of the text, so a fleet whose
# repositories render the same script pays once; bounded, oldest dropped first
_VERDICTS: dict[str, str] = {}
MAX_VERDICTS = 256


@dataclass(frozen=True)
class ShellVerifier:
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        if file.content not in _VERDICTS:  # every script of the render at once: one bash each, side by side
            _parse([*(f.content for f in context.files if f.syntax is file.syntax), file.content])
        error = _VERDICTS.get(file.content, "")
        if error:
            yield "bash -n: " + error


def _parse(scripts: list[str]) -> None:
    """Record bash -n's verdict on each script; the processes run concurrently, one per script."""
    bash = shutil.which("bash")
    if bash is None:  # pragma: no cover - every supported platform has bash
        return
    todo = list(dict.fromkeys(s for s in scripts if s not in _VERDICTS))
    running = [subprocess.Popen([bash, "-n"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE) for _ in todo]
    for script, proc in zip(todo, running, strict=True):
        assert proc.stdin is not None
        try:
            proc.stdin.write(script.encode())  # bash reads as it parses: a long script does not block
            proc.stdin.close()
        except BrokenPipeError:  # it stopped at a syntax error before reading everything
            pass
    for script, proc in zip(todo, running, strict=True):
        assert proc.stderr is not None
        complaint = proc.stderr.read().decode(errors="replace").strip()
        _VERDICTS[script] = (complaint or "syntax error") if proc.wait() else ""
        while len(_VERDICTS) > MAX_VERDICTS:
            del _VERDICTS[next(iter(_VERDICTS))]
