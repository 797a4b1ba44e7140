"""Command line: parse arguments, call one command function, map errors to exit codes.

render, validate and check import only the core: python-gitlab, jenkinsapi and cookiecutter are
imported by the commands that need them, never at start-up. The grammar is in
generator/cli/arguments.py, the parser class in generator/cli/parser.py.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback
from collections.abc import Callable, Sequence

from generator import __version__
from generator.cli.arguments import build_parser
from generator.cli.parser import ParseError
from generator.errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_USAGE, SpecError, UserError

__all__ = ["COMMANDS", "ParseError", "build_parser", "main"]


# verb -> (module, function); a command's module is imported only when that command runs
COMMANDS = {
    "validate": ("validate", "run"),
    "render": ("render", "run"),
    "check": ("check", "run"),
    "schema": ("schema", "run"),
    "sync": ("sync", "run"),
    "fleet": ("fleet", "run"),
    "promote": ("release", "run_promote"),
    "rollback": ("release", "run_rollback"),
    "gate": ("gate", "run"),
    "analyze": ("analyze", "run"),
    "data-check": ("datacheck", "run"),
    "evaluate": ("evaluate", "run"),
    "registry": ("registry", "run"),
    "propose": ("propose", "run"),
    "jenkins": ("jenkins", "run"),
    "init": ("init", "run"),
    "completion": ("completion", "run"),
}


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    module_name, function = COMMANDS[name]
    module = importlib.import_module(f"generator.commands.{module_name}")
    command: Callable[[argparse.Namespace], int] = getattr(module, function)
    return command


def _requested_format(argv: Sequence[str]) -> str:
    """--format's value read before parsing, so that a usage error in a `--format json` run is JSON too."""
    requested = "text"
    for index, word in enumerate(argv):
        if word == "--":
            break
        if word == "--format" and index + 1 < len(argv):
            requested = argv[index + 1]
        elif word.startswith("--format="):
            requested = word.partition("=")[2]
    return requested


def _requested_command(argv: Sequence[str]) -> str | None:
    """The verb, when the first word names one: then only its grammar is built (and a typo, or
    --help before any verb, gets the whole grammar and its suggestions)."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    output_format = _requested_format(words)
    try:
        args = build_parser(_requested_command(words)).parse_args(argv)
        output_format = getattr(args, "format", "text")
        if args.command is None:
            build_parser().print_help()
            return EXIT_USAGE
        return _command(args.command)(args)
    except UserError as exc:
        if output_format == "json":
            print(json.dumps(exc.to_json(), indent=2))
        elif isinstance(exc, (SpecError, ParseError)):
            print(exc.format(), file=sys.stderr)
        else:
            print(f"mlopsgen: {exc.format()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mlopsgen: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
    except Exception:  # noqa: BLE001 - last resort: a bug, reported as one
        traceback.print_exc()
        print(f"mlopsgen {__version__}: internal error (a bug, exit {EXIT_BUG}); please report it with the "
              "traceback above", file=sys.stderr)
        return EXIT_BUG
