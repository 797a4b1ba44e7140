"""Python packages imported only by the commands that need them, and the user error when one is
missing: which package, what for, and the pip command that installs it (exit 1, never a traceback)."""

from __future__ import annotations

import importlib
from types import ModuleType

from generator.errors import UserError


class MissingPackage(UserError):
    """A package a command needs is not installed."""

    def __init__(self, package: str, purpose: str, install: str) -> None:
        super().__init__(f"{purpose} needs the Python package {package}, which is not installed",
                         f"install it: {install}")
        self.package = package


def import_for(module: str, *, package: str, purpose: str, extra: str | None = None) -> ModuleType:
    """Import module; without it, a MissingPackage naming the package and the pip command.

    extra: the mlopsgen extra that carries an optional package; None for a regular dependency
    (then a missing one means a broken installation, and reinstalling mlopsgen fixes it)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        install = (f"python3 -m pip install 'mlopsgen[{extra}]' (or: python3 -m pip install {package})" if extra
                   else f"python3 -m pip install --force-reinstall mlopsgen ({package} is one of its dependencies)")
        raise MissingPackage(package, purpose, install) from None
