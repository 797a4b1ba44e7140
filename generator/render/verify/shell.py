"""A shell script: bash parses it without running it (`bash -n`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator

from generator.artifacts import RenderedFile
from generator.frozen import frozen
from generator.render.verify.base import VerificationContext

# script -> bash -n's complaint ('' when it parses): a pure function of the text, so a fleet whose
# repositories render the same script pays once; bounded, oldest dropped first
_VERDICTS: dict[str, str] = {}
MAX_VERDICTS = 256

# Leading comments and `name=value` lines whose value is one word as shlex.quote writes it (the `sh`
# filter: 'quoted', '"'"' for a quote, or only safe characters): each is a complete command that
# leaves bash's parser where it started, so the script parses as its remainder does. Scripts that
# differ only in those values (every model's release script) share one bash -n.
_INERT_PREFIX = re.compile(
    r"""(?:(?:#[^\n]*|[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"'"|[A-Za-z0-9_@%+=:,./-])*)?\n)*""", re.ASCII)


def parsed_part(script: str) -> str:
    """The part of the script whose bash -n verdict is the script's: all of it after the inert prefix."""
    match = _INERT_PREFIX.match(script)  # always matches, if only ''
    return script[match.end():] if match else script


@frozen
class ShellVerifier:
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        part = parsed_part(file.content)
        if part not in _VERDICTS:  # every script of the render at once: one bash each, side by side
            _parse([*(parsed_part(f.content) for f in context.files if f.syntax is file.syntax), part])
        if _VERDICTS.get(part, ""):  # refused: bash's own words, with the whole script's line numbers
            if file.content not in _VERDICTS:
                _parse([file.content])
            yield "bash -n: " + (_VERDICTS.get(file.content) or _VERDICTS[part])


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
