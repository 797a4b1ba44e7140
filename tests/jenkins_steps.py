"""Pull the shell steps out of a rendered declarative Jenkinsfile, to run them without Jenkins.

Not a Groovy parser: a scanner for what mlopsgen's Jenkinsfile blueprints write. It reads Groovy
string literals ('...' and '''...''', with their backslash escapes), line comments, braces and
words, and recognises three shapes:

- ``stage('Name') { ... }``: the stages, nested (a parallel stage inside its parent);
- ``sh(label: '...', script: '...')``: a step, filed under the innermost stage around it, with
  whether it sits in a ``post`` block (then ``post`` holds the condition: ``failure``, ``always``);
- ``env.NAME = sh(returnStdout: true, script: '...')``: a step whose trimmed output sets NAME;

and the top-level ``environment { NAME = '...' }`` block. Anything else (GStrings, other steps)
is skipped; a Jenkinsfile that stops matching these shapes yields fewer steps, which the calling
test notices because it asks for the stages it runs by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "$": "$"}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Token:
    kind: str  # "str", "word" or the punctuation character itself
    text: str


@dataclass(frozen=True)
class JenkinsStep:
    stages: tuple[str, ...]  # outermost first: ("Tests", "Unit tests")
    label: str
    script: str
    post: str = ""  # the post condition ("failure", ...) when the step runs in a post block
    sets: str = ""  # env.<sets> = the step's trimmed output

    @property
    def stage(self) -> str:
        return self.stages[-1]


@dataclass(frozen=True)
class JenkinsPipeline:
    environment: dict[str, str]
    steps: tuple[JenkinsStep, ...]

    def stage_steps(self, stage: str, post: str = "") -> list[JenkinsStep]:
        return [s for s in self.steps if s.stage == stage and s.post == post]


def _string(text: str, i: int) -> tuple[str, int]:
    """The Groovy single-quoted or triple-single-quoted literal starting at text[i]; (value, end)."""
    quote = "'''" if text.startswith("'''", i) else "'"
    i += len(quote)
    out = []
    while not text.startswith(quote, i):
        if i >= len(text):
            raise ValueError("unterminated Groovy string")
        ch = text[i]
        if ch == "\\":
            nxt = text[i + 1]
            if nxt == "u":
                out.append(chr(int(text[i + 2:i + 6], 16)))
                i += 6
                continue
            if nxt not in _ESCAPES:
                raise ValueError(f"unknown Groovy escape \\{nxt}")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out), i + len(quote)


def tokens(text: str) -> list[Token]:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif ch == "'":
            value, i = _string(text, i)
            out.append(Token("str", value))
        elif ch == '"':  # a GString: kept as an opaque string (the blueprints write none in steps)
            end = text.index('"', i + 1)
            out.append(Token("gstr", text[i + 1:end]))
            i = end + 1
        elif word := _WORD.match(text, i):
            out.append(Token("word", word.group()))
            i = word.end()
        else:
            out.append(Token(ch, ch))
            i += 1
    return out


def _call_arguments(toks: list[Token], i: int) -> tuple[dict[str, str], int]:
    """Named arguments `name: 'literal'` or `name: word` of the call whose '(' is toks[i]."""
    args, depth, j = {}, 0, i
    while j < len(toks):
        t = toks[j]
        if t.kind == "(":
            depth += 1
        elif t.kind == ")":
            depth -= 1
            if depth == 0:
                return args, j + 1
        elif (depth == 1 and t.kind == "word" and j + 2 < len(toks) and toks[j + 1].kind == ":"
              and toks[j + 2].kind in ("str", "word")):
            args[t.text] = toks[j + 2].text
            j += 3
            continue
        j += 1
    raise ValueError("unbalanced parentheses in a call")


def parse(text: str) -> JenkinsPipeline:
    toks = tokens(text)
    steps: list[JenkinsStep] = []
    environment: dict[str, str] = {}
    # the blocks open around the current token: ("stage", name), ("post", ""), (condition, ""), ...
    blocks: list[tuple[str, str]] = []
    pending: tuple[str, str] = ("", "")  # what the next '{' opens
    i = 0
    while i < len(toks):
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else Token("", "")
        if t.kind == "{":
            blocks.append(pending)
            pending = ("", "")
        elif t.kind == "}":
            blocks.pop()
        elif t.kind == "word" and t.text == "stage" and nxt.kind == "(" and toks[i + 2].kind == "str":
            pending = ("stage", toks[i + 2].text)
            i += 4
            continue
        elif t.kind == "word" and nxt.kind == "{":
            pending = (t.text, "")
        elif t.kind == "word" and t.text == "sh" and nxt.kind == "(":
            args, end = _call_arguments(toks, i + 1)
            sets = ""
            if i >= 4 and toks[i - 1].kind == "=" and toks[i - 3].kind == "." and toks[i - 4].text == "env":
                sets = toks[i - 2].text
            stages = tuple(name for kind, name in blocks if kind == "stage")
            names = [kind for kind, _ in blocks]
            post = names[names.index("post") + 1] if "post" in names else ""
            if "script" in args:
                steps.append(JenkinsStep(stages, args.get("label", ""), args["script"], post, sets))
            i = end
            continue
        elif (t.kind == "word" and [k for k, _ in blocks] == ["pipeline", "environment"] and nxt.kind == "="
              and toks[i + 2].kind == "str"):
            environment[t.text] = toks[i + 2].text
            i += 3
            continue
        i += 1
    return JenkinsPipeline(environment, tuple(steps))


def read(path: Path) -> JenkinsPipeline:
    return parse(path.read_text(encoding="utf-8"))
