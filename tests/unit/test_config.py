"""Settings: defaults, .env.example completeness, secrets and production guards."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from core.config import PROJECT_ROOT, Settings

ENV_EXAMPLE = PROJECT_ROOT / ".env.example"


def example_names() -> list[str]:
    return re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.M)


def test_env_example_lists_every_setting():
    assert sorted(name.lower() for name in example_names()) == sorted(Settings.model_fields)


def test_env_example_values_are_the_defaults(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    from_example = Settings(_env_file=ENV_EXAMPLE)
    defaults = Settings(_env_file=None)
    assert from_example.model_dump() == defaults.model_dump()


def test_defaults_are_embedded(monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "DATA_DIR", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.resolved_database_url == f"sqlite:///{PROJECT_ROOT / 'data' / 'leadscout.db'}"
    assert not settings.redis_enabled
    assert not settings.openai_enabled
    assert settings.data_dir == PROJECT_ROOT / "data"


def test_postgres_urls_use_psycopg3():
    settings = Settings(_env_file=None, database_url="postgres://u:p@db:5432/x")
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/x"
    assert not settings.is_sqlite


def test_secrets_are_masked_in_reprs():
    settings = Settings(_env_file=None, openai_api_key="sk-very-secret-value")
    assert "sk-very-secret-value" not in repr(settings)
    assert "sk-very-secret-value" not in str(settings.model_dump())


def test_production_refuses_placeholder_secret_keys():
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings(_env_file=None, environment="production", secret_key="changeme")
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings(_env_file=None, environment="production", secret_key=None)
    Settings(_env_file=None, environment="production", secret_key="x" * 40)


def test_generated_secret_key_is_stored_and_reused(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, secret_key=None)
    first = settings.signing_key()
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert Settings(_env_file=None, data_dir=tmp_path, secret_key=None).signing_key() == first
