"""pytest fixture: a running JenkinsEmulator with one user, stopped after the test.

Use it from a test module with `pytest_plugins = ["emulators.jenkins_fixtures"]`.
Parametrize it indirectly with JenkinsEmulator keyword arguments, e.g. {"crumbs": False}.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.jenkins import TEST_TOKEN, TEST_USER, JenkinsEmulator


@pytest.fixture
def jenkins_emulator(request: pytest.FixtureRequest) -> Iterator[JenkinsEmulator]:
    """A Jenkins emulator on 127.0.0.1 (crumbs on unless parametrized); user TEST_USER with API token TEST_TOKEN."""
    options = dict(getattr(request, "param", None) or {})
    with JenkinsEmulator({TEST_USER: TEST_TOKEN}, **options) as emulator:
        yield emulator
