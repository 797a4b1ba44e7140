"""A Jenkinsfile: brackets balance outside strings and comments, the cheap half of a Groovy parse.

No Groovy parser runs at render time (that would need a JVM); the conformance tests run the real
Groovy 2.4 parser and npm-groovy-lint on every example.
"""

from __future__ import annotations

from collections.abc import Iterator

from generator.artifacts import RenderedFile
from generator.frozen import frozen
from generator.render.verify.base import VerificationContext

_OPENING = {")": "(", "]": "[", "}": "{"}


@frozen
class GroovyVerifier:
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        yield from check_groovy_structure(file.content)


def check_groovy_structure(text: str) -> Iterator[str]:
    """The first structural problem (an unterminated string, an unbalanced or unclosed bracket), by line."""
    stack: list[tuple[str, int]] = []
    i, line, n = 0, 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        if text.startswith("//", i):
            i = text.find("\n", i)
            i = n if i < 0 else i
            continue
        if text.startswith("'''", i) or text.startswith('"""', i):
            end = text.find(text[i:i + 3], i + 3)
            if end < 0:
                yield f"line {line}: unterminated triple-quoted string"
                return
            line += text.count("\n", i, end)
            i = end + 3
            continue
        if ch in "'\"":
            j = i + 1
            while j < n and text[j] != ch:
                if text[j] == "\n":
                    yield f"line {line}: newline inside a string"
                    return
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if ch in "([{":
            stack.append((ch, line))
        elif ch in ")]}":
            if not stack or stack[-1][0] != _OPENING[ch]:
                yield f"line {line}: unbalanced '{ch}'"
                return
            stack.pop()
        i += 1
    if stack:
        yield f"line {stack[-1][1]}: '{stack[-1][0]}' is never closed"
