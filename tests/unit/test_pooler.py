"""Engines for a transaction-mode pooler never prepare statements server-side."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from core.db.session import behind_transaction_pooler, build_engine

SUPABASE_POOLER = (
    "postgresql+psycopg://postgres.abc:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres?sslmode=require"
)


@pytest.mark.parametrize(
    ("url", "setting", "expected"),
    [
        (SUPABASE_POOLER, "auto", True),
        (SUPABASE_POOLER.replace(":6543", ":5432"), "auto", False),  # session mode
        ("postgresql+psycopg://postgres@127.0.0.1:6432/db", "auto", False),
        ("postgresql+psycopg://postgres@127.0.0.1:6432/db", "transaction", True),
        (SUPABASE_POOLER, "none", False),
        ("sqlite:///x.db", "auto", False),
    ],
)
def test_behind_transaction_pooler(url, setting, expected):
    assert behind_transaction_pooler(url, setting) is expected


def connect_params(engine) -> dict:
    """The keyword arguments psycopg.connect would get (captured before any network I/O)."""
    captured: dict = {}

    def capture(dialect, record, cargs, cparams):
        captured.update(cparams)
        raise ConnectionAbortedError("captured")

    event.listen(engine, "do_connect", capture)
    with pytest.raises(Exception, match="captured"):
        engine.connect()
    engine.dispose()
    return captured


def test_pooler_engine_disables_prepared_statements_and_keeps_sslmode():
    engine = build_engine(SUPABASE_POOLER, pooler="auto")
    params = connect_params(engine)
    assert "prepare_threshold" in params and params["prepare_threshold"] is None
    assert params["sslmode"] == "require"
    assert engine.pool.size() == 3


def test_direct_engine_keeps_prepared_statements():
    engine = build_engine("postgresql+psycopg://postgres@127.0.0.1:5432/db", pooler="none")
    assert "prepare_threshold" not in connect_params(engine)
