"""A Jenkinsfile: brackets balance outside strings and comments, the cheap half of a Groovy parse.

No Groovy parser runs at render time (that would need a JVM); the conformance tests run the real
Groovy 2.4 parser and npm-groovy-lint on every example.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from generator.artifacts import RenderedFile
from generator.frozen import frozen
from generator.render.verify.base import VerificationContext

_OPENING = {")": "(", "]": "[", "}": "{"}
# what the scan stops at: a line comment, a string's start, a bracket (the rest is skipped)
_MARK = re.compile("//[^\n]*|'''|\"\"\"|['\"()\\[\\]{}]")
# a one-line string up to (not including) its closing quote; a backslash escapes any character
_STRING_BODY = {quote: re.compile("(?:[^" + quote + "\\\\\n]|\\\\[\\s\\S])*") for quote in ("'", '"')}


@frozen
class GroovyVerifier:
    def check(self, file: RenderedFile, context: VerificationContext) -> Iterator[str]:
        yield from check_groovy_structure(file.content)


def check_groovy_structure(text: str) -> Iterator[str]:
    """The first structural problem (an unterminated string, an unbalanced or unclosed bracket), by line."""

    def line(at: int) -> int:  # of the character at this index, counted only for a message
        return text.count("\n", 0, at) + 1

    stack: list[tuple[str, int]] = []  # each open bracket and where it is
    pos, end_of_text = 0, len(text)
    while (mark := _MARK.search(text, pos)) is not None:
        token, pos = mark.group(), mark.end()
        if token.startswith("//"):
            continue
        if token in ("'''", '"""'):
            end = text.find(token, pos)
            if end < 0:
                yield f"line {line(mark.start())}: unterminated triple-quoted string"
                return
            pos = end + 3
        elif token in ("'", '"'):
            body = _STRING_BODY[token].match(text, pos)  # always matches, if only ''
            end = body.end() if body else pos
            if end >= end_of_text:
                break  # open to the end: its brackets are reported unclosed
            if text[end] == "\n":
                yield f"line {line(end)}: newline inside a string"
                return
            pos = end + 1
        elif token in "([{":
            stack.append((token, mark.start()))
        elif not stack or stack[-1][0] != _OPENING[token]:
            yield f"line {line(mark.start())}: unbalanced '{token}'"
            return
        else:
            stack.pop()
    if stack:
        yield f"line {line(stack[-1][1])}: '{stack[-1][0]}' is never closed"
