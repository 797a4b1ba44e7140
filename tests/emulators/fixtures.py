"""pytest fixture: a running GitLabEmulator (token "test-token", role maintainer), stopped after the test.

Enable it with `pytest_plugins = ["emulators.fixtures"]` in a test module (or the root conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.gitlab import GitLabEmulator

GITLAB_TOKEN = "test-token"


@pytest.fixture
def gitlab_emulator(tmp_path: Path) -> Iterator[GitLabEmulator]:
    """A GitLab API v4 emulator on 127.0.0.1 with repositories under tmp_path; `.url` is its base URL."""
    with GitLabEmulator(tmp_path / "gitlab", {GITLAB_TOKEN: "maintainer", "reporter-token": "reporter"}) as emulator:
        yield emulator
