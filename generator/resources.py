"""Where blueprints/ and schemas/ are: the source tree, or inside the installed wheel."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _locate(top_level: str, packaged: str) -> Path:
    in_checkout = _PACKAGE_DIR.parent / top_level
    if in_checkout.is_dir():
        return in_checkout
    in_wheel = _PACKAGE_DIR / packaged
    if in_wheel.is_dir():
        return in_wheel
    raise RuntimeError(f"mlopsgen is installed without its {top_level}/ directory")


@cache
def blueprints_dir() -> Path:
    return _locate("blueprints", "_blueprints")


@cache
def schemas_dir() -> Path:
    return _locate("schemas", "_schemas")
