"""Apply or revert the Alembic migrations programmatically (CLI, app start-up, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from core.config import get_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config pointing at our migrations and the given (or configured) database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url or get_settings().resolved_database_url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (default: the latest)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Revert the schema down to ``revision`` (default: nothing)."""
    command.downgrade(alembic_config(url), revision)
