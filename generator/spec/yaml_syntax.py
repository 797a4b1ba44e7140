"""YAML syntax errors in plain words, at their cause (the loader's explainer).

PyYAML reports where it noticed a problem; for an unclosed '[' or quote, or a line indented too far,
that is often a line or more after the cause. SyntaxExplainer reads PyYAML's marks and the token
stream and names the cause: where it is, what is wrong, and how to fix it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

Where = tuple[int, int]  # 0-based line and column, as PyYAML's marks count
Explained = tuple[Where, str, str]  # where the cause is, the message, the hint
_CLOSERS = {"[": "]", "{": "}"}
_PAIRS: dict[type, type] = {yaml.FlowSequenceEndToken: yaml.FlowSequenceStartToken,
                            yaml.FlowMappingEndToken: yaml.FlowMappingStartToken}
_NO_SPACE_AFTER_COLON = re.compile(r"^(\s*(?:-\s+)?)([A-Za-z0-9_.-]+):(?=[^\s/:])")


class SyntaxExplainer:
    """A YAML syntax error in plain words, at its cause. PyYAML reports where it noticed the problem:
    for an unclosed '[' or quote, or a line indented too far, that is often a line or more later."""

    def __init__(self, text: str, exc: yaml.MarkedYAMLError, loader: type[Any]) -> None:
        self.loader = loader  # the loader class that failed: its scanner re-reads the text
        self.text = text
        self.lines = text.split("\n")
        self.context = str(exc.context or "")
        self.problem = str(exc.problem or "")
        noticed = exc.problem_mark or exc.context_mark
        self.at: Where = (noticed.line, noticed.column) if noticed else (0, 0)
        self.opened: Where | None = (exc.context_mark.line, exc.context_mark.column) if exc.context_mark else None
        self._scanned: list[yaml.Token] | None = None

    def explain(self) -> Explained:
        for check in (self._unclosed_quote, self._tab, self._quote_runs_on, self._flow, self._documents,
                      self._unknown_escape, self._same_line, self._mapping_value, self._no_colon, self._block):
            found = check()
            if found:
                return found
        if "unhashable" in self.problem:
            return self.at, "a [list] or {mapping} cannot be a key", "check the brackets on this line, or quote the key"
        message = "; ".join(part for part in (self.context, self.problem) if part)
        return self.at, f"YAML syntax error: {message}", "check indentation and quoting around this position"

    def _unclosed_quote(self) -> Explained | None:
        if "quoted scalar" not in self.context or "end of stream" not in self.problem or self.opened is None:
            return None
        quote = _shown(self._char(self.opened))
        return self.opened, f"the {quote} opened here is never closed", f"end the value with {quote} on the same line"

    def _tab(self) -> Explained | None:
        line = self._line(self.at[0])
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            return ((self.at[0], indent.index("\t")), "a tab is used for indentation here; YAML indents with "
                    "spaces only", "replace the tab with spaces")
        if self._char(self.at) == "\t":
            return self.at, "a tab here, where YAML allows only spaces", "replace the tab with spaces"
        return None

    def _quote_runs_on(self) -> Explained | None:
        token = self._last_scalar_before(self.at)
        if token is None or token.style not in ('"', "'") or token.end_mark.line != self.at[0] \
                or token.start_mark.line == token.end_mark.line:
            return None
        quote, start = _shown(token.style), token.start_mark.line
        return ((start, token.start_mark.column), f"the {quote} opened here is not closed on its line: the value "
                f"runs on to the {quote} on line {self.at[0] + 1}", f"close the quote on line {start + 1}")

    def _flow(self) -> Explained | None:
        opener = "[" if "flow sequence" in self.context else "{" if "flow mapping" in self.context else ""
        if not opener or self.opened is None:
            return None
        closer = _CLOSERS[opener]
        if not self._closed(self.opened):
            return (self.opened, f"the '{opener}' opened here is never closed",
                    f"close it with '{closer}' after its last item")
        return (self.at, f"expected ',' or '{closer}' here, inside the '{opener}' opened on line {self.opened[0] + 1}",
                "separate the items with ', ', and quote an item that holds ': ', ',' or a bracket")

    def _documents(self) -> Explained | None:
        if "single document" in self.context:
            return (self.at, "a second YAML document starts here; the spec is a single document",
                    "delete this line and the document after it, or move that document to a file of its own")
        if "<document start>" not in self.problem:  # the first line ended the document it began
            return None
        first = next((n for n in range(len(self.lines)) if self._line(n).strip()[:1] not in ("", "#")), 0)
        if self._indent(first):
            return ((first, self._indent(first)), "the spec's first line is indented; the top-level keys start at "
                    "the left margin", "delete the spaces before it")
        return self._missing_space(first) or self._plain_text(first)

    def _unknown_escape(self) -> Explained | None:
        line, column = self._line(self.at[0]), self.at[1]
        backslash = line.rfind("\\", 0, column + 1)
        if not re.search(r"escape|hexa?decimal", self.problem) or backslash < 0:
            return None
        return ((self.at[0], backslash), f"'{line[backslash:backslash + 2]}' is not an escape YAML knows in "
                "double quotes", "write '\\\\' for a backslash, or use single quotes, which keep backslashes as "
                "they are")

    def _same_line(self) -> Explained | None:
        n, column = self.at
        before, after = self._line(n)[:column].rstrip(), self._line(n)[column:].strip()
        if "block sequence entries are not allowed" in self.problem and before.endswith(":"):
            return (self.at, "a list cannot start on the same line as its key",
                    "put each '- ' item on a line of its own, below the key and indented")
        if "block" in self.context and before[-1:] in ('"', "'", "]", "}") and after and column > self._indent(n):
            return (self.at, "more text after the end of the value on this line", "a quoted value, a [list] or "
                    "a {mapping} ends its line: delete what follows it, or quote the whole value")
        return None

    def _mapping_value(self) -> Explained | None:
        if "mapping values are not allowed" not in self.problem:
            return None
        n, column = self.at
        line = self._line(n)
        if ": " in line[:column]:  # key: value: x
            head, _, rest = line.strip().partition(": ")
            value = json.dumps(rest.split(" #")[0].strip(), ensure_ascii=False)
            return (self.at, "a second ': ' on this line: a value that holds ': ' must be quoted",
                    f"quote the value: {head}: {value}")
        token = self._last_scalar_before(self.at)
        if token is None or token.start_mark.line >= n:
            return None
        start = token.start_mark.line  # the text YAML took this line to continue
        missing = self._missing_space(start)
        if missing:
            return missing
        if self._indent(n) > self._indent(start):
            return ((n, self._indent(n)), f"this line is indented more than line {start + 1}, so YAML reads it "
                    "as more of the value there", f"indent it like line {start + 1}; only a key with nothing after "
                    "its ':' can have lines indented under it")
        return None if ": " in self._line(start) else self._plain_text(start)

    def _no_colon(self) -> Explained | None:
        if "could not find expected ':'" not in self.problem or self.opened is None:
            return None
        n, line = self.opened[0], self._line(self.opened[0])
        first = self._char((n, self._indent(n)))
        if first and first in "[{\"'" and _CLOSERS.get(first, first) not in line[self._indent(n) + 1:]:
            return ((n, self._indent(n)), f"the {_shown(first)} opened here is not closed on its line",
                    "close it on this line, or delete it")
        return self._missing_space(n) or self._plain_text(n)

    def _plain_text(self, n: int) -> Explained:
        return ((n, self._indent(n)), "this line is neither 'key: value' nor a list item",
                "add ': ' after the key, '- ' before a list item, or '#' before a comment")

    def _block(self) -> Explained | None:
        n, column = self.at
        indent = self._indent(n)
        if "block" not in self.context or column != indent:
            return None
        item = self._line(n)[indent:] == "-" or self._line(n)[indent:].startswith("- ")
        levels = self._levels(n)
        if levels and indent not in levels:
            above = ", ".join(map(str, levels[:-1])) + " or " * (len(levels) > 1) + str(levels[-1])
            return (self.at, f"bad indentation: this line is indented by {indent} space{'s' * (indent != 1)}, "
                    f"the lines above it by {above}",
                    "line it up with the key (or '- ') it belongs beside: YAML counts the spaces")
        if "mapping" in self.context and item:
            return (self.at, "a list item where a key is expected: the lines above at this indentation are "
                    "'key: value'", "give the list a key of its own, and indent its '- ' lines under that key")
        if "collection" in self.context and not item:
            return (self.at, "a 'key: value' line where a list item is expected: the lines above at this "
                    "indentation start with '- '", "start it with '- ', or indent it under the item it belongs to")
        return None

    def _missing_space(self, n: int) -> Explained | None:
        line = self._line(n)
        match = _NO_SPACE_AFTER_COLON.match(line)
        if match is None or ": " in line or line.rstrip().endswith(":"):
            return None
        key, value = match.group(2), line[match.end():].split(" #")[0].strip()
        return ((n, match.end() - 1), f"no space after this ':', so YAML reads '{line.strip()}' as text, "
                f"not as the key '{key}' and its value", f"write '{key}: {value}'")

    def _levels(self, n: int) -> list[int]:
        """The indentations a line after line n may take: those of the blocks still open there."""
        levels: list[int] = []
        for k in range(n - 1, -1, -1):
            line = self._line(k)
            if not line.strip() or line.strip().startswith("#"):
                continue
            for level in sorted(_line_levels(line), reverse=True):
                if not levels or level < levels[-1]:
                    levels.append(level)
            if levels[-1] == 0:
                break
        return levels

    def _closed(self, opened: Where) -> bool:
        """Whether the '[' or '{' at `opened` is matched by a ']' or '}' anywhere after it."""
        stack: list[type] = []
        for token in self._tokens():
            kind = type(token)
            if kind in _PAIRS.values() and (stack or (token.start_mark.line, token.start_mark.column) == opened):
                stack.append(kind)
            elif kind in _PAIRS and stack:
                matched = _PAIRS[kind] is stack.pop()
                if not stack:
                    return matched  # a '}' closing our '[' means ours is never closed
        return False

    def _last_scalar_before(self, where: Where) -> Any:
        last = None
        for token in self._tokens():
            if (token.start_mark.line, token.start_mark.column) >= where:
                break
            if isinstance(token, yaml.ScalarToken):
                last = token
        return last

    def _tokens(self) -> list[yaml.Token]:
        """Every token up to the first the scanner cannot read (the parser may have stopped earlier)."""
        if self._scanned is None:
            self._scanned = []
            scanner = self.loader(self.text)
            try:
                while (token := scanner.get_token()) is not None:
                    self._scanned.append(token)
            except yaml.YAMLError:
                pass
            finally:
                scanner.dispose()
        return self._scanned

    def _line(self, n: int) -> str:
        return self.lines[n].rstrip("\r") if 0 <= n < len(self.lines) else ""

    def _char(self, where: Where) -> str:
        line = self._line(where[0])
        return line[where[1]] if 0 <= where[1] < len(line) else ""

    def _indent(self, n: int) -> int:
        line = self._line(n)
        return len(line) - len(line.lstrip(" "))


def _line_levels(line: str) -> list[int]:
    """Where a line's blocks start: its indentation, and after each '- ' that begins a mapping, the key's."""
    column = len(line) - len(line.lstrip(" "))
    levels = [column]
    rest = line[column:]
    while rest.startswith("- "):
        width = len(rest) - len(rest[1:].lstrip(" "))
        column, rest = column + width, rest[width:]
        if ": " in rest or rest.rstrip().endswith(":"):
            levels.append(column)
    return levels


def _shown(quote: str) -> str:
    return f'"{quote}"' if quote == "'" else f"'{quote}'" if quote else "quote"
