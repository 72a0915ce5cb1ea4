"""Browser tests need Debian's Chromium; locally they skip without it, in CI they must run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright


@pytest.fixture(autouse=True)
def _migrated(database: str) -> None:
    """The app under test and the test's own set-up share the migrated database."""


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser(stack) -> Iterator[Browser]:
    """One Chromium for a module's tests, once the module's own ``stack`` of processes is up."""
    from tests.e2e.test_journey import LAUNCH_ARGS

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test here as e2e, and skip them (outside CI) when Chromium is missing."""
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            if not CHROMIUM.exists() and not os.environ.get("CI"):
                item.add_marker(pytest.mark.skip(reason="Chromium is not installed (apt-get install chromium)"))
