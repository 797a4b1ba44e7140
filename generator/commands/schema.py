from __future__ import annotations

import argparse

from generator.errors import EXIT_OK
from generator.resources import schemas_dir
from generator.spec.validation import SPEC_SCHEMA_FILE


def run(args: argparse.Namespace) -> int:
    print((schemas_dir() / SPEC_SCHEMA_FILE).read_text(encoding="utf-8"), end="")
    return EXIT_OK
