"""Fixtures for tests that validate rendered artifacts with the real third-party tools."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from . import validators


@pytest.fixture(name="assert_tree_conforms")
def assert_tree_conforms_fixture() -> Callable[..., list[validators.Result]]:
    """assert_tree_conforms(path): fails listing every FAIL line; skips (with the reason) only
    when optional tools are missing outside CI."""
    return validators.assert_tree_conforms
