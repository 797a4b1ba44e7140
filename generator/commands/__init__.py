"""One module per CLI verb; each exposes run(args) -> exit code."""

from __future__ import annotations

import json
from typing import Any


def emit_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, sort_keys=False, allow_nan=False))
