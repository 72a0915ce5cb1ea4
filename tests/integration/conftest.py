"""Integration tests run on the migrated test database (SQLite, or PostgreSQL in CI) and real Redis."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _migrated(database: str) -> None:
    """Every integration test starts on the migrated schema."""
