"""The argument parser class every mlopsgen (sub)command uses.

Help ends with examples; a typo is answered with the closest valid name; a usage error is raised
as ParseError (exit 2, JSON under --format json) instead of argparse's print-and-exit.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from typing import Any, NoReturn

from generator.errors import UsageError


class ParseError(UsageError):
    """A usage error found by the parser: its message already starts with the (sub)command, `mlopsgen render: `."""


class Parser(argparse.ArgumentParser):
    """Help that ends with examples; typos answered with the closest valid name; errors raised, not exited."""

    def __init__(self, *args: Any, examples: Sequence[str] = (), **kwargs: Any) -> None:
        if examples:
            kwargs["epilog"] = "examples:\n" + "\n".join(f"  {line}" for line in examples)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)  # keeps the examples' lines
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise ParseError(f"{self.prog}: {message}", f"see `{self.prog} --help`")

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: Any = None) -> tuple[Any, list[str]]:
        # mlopsgen takes no unknown arguments, so the (sub)parser that meets one reports it under its own prog
        # and with its own options; argparse would leave that to the top-level parser
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            options = [flag for action in self._actions for flag in action.option_strings]
            guesses = {word: close[0] for word in extras if word.startswith("-")
                       for close in [difflib.get_close_matches(word.split("=", 1)[0], options, n=1)] if close}
            message = f"unrecognized arguments: {' '.join(extras)}"
            if len(guesses) == 1:
                message += f" (did you mean {next(iter(guesses.values()))}?)"
            elif guesses:
                message += f" (did you mean {', '.join(f'{new} for {old}' for old, new in guesses.items())}?)"
            self.error(message)
        return parsed, extras

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            close = difflib.get_close_matches(str(value), [str(c) for c in action.choices], n=1)
            if close:
                raise argparse.ArgumentError(action, f"invalid choice: {value!r} (did you mean {close[0]!r}?)")
        super()._check_value(action, value)
