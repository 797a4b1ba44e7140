"""mlopsgen completion bash|zsh|fish: print a completion script generated from the parser."""

from __future__ import annotations

import argparse

from generator.cli.arguments import build_parser
from generator.cli.completion import completion_script
from generator.errors import EXIT_OK


def run(args: argparse.Namespace) -> int:
    print(completion_script(args.shell, build_parser()), end="")
    return EXIT_OK
