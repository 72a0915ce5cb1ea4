"""Engines and the unit of work. Services own transactions; repositories never commit."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings, get_settings

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def build_engine(url: str, pooler: str | None = None) -> Engine:
    """A new engine for ``url`` with LeadScout's per-backend (and pooler) settings."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if behind_transaction_pooler(url, pooler or get_settings().database_pooler):
        # The pooler hands each transaction to any server connection, so a statement prepared
        # on one is missing on the next: psycopg must not prepare. The pooler does the pooling;
        # keep few idle client connections and recycle them before the pooler's idle timeout.
        return create_engine(
            url,
            connect_args={"prepare_threshold": None},
            pool_pre_ping=True,
            pool_size=3,
            max_overflow=7,
            pool_recycle=300,
        )
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, pool_recycle=1800)


def behind_transaction_pooler(url: str, pooler: str) -> bool:
    """True when ``url`` goes through a transaction-mode pooler (set, or "auto" and port 6543)."""
    if pooler != "auto":
        return pooler == "transaction"
    try:
        return make_url(url).port == 6543
    except ArgumentError:
        return False


def get_engine(settings: Settings | None = None) -> Engine:
    """The process-wide engine for the configured database (thread-safe, one per URL)."""
    url = (settings or get_settings()).resolved_database_url
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = build_engine(url)
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests, and after a fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _forget_engines_after_fork() -> None:
    # A forked child (an RQ work horse) must not share the parent's pooled connections.
    for engine in list(_engines.values()):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_engines_after_fork)


class UnitOfWork:
    """One transaction: ``with uow: ...; uow.commit()``. Leaving without commit rolls back."""

    session: Session

    def __init__(self, engine: Engine | None = None) -> None:
        self._factory = sessionmaker(bind=engine or get_engine(), expire_on_commit=False)

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()
        self.session.close()

    def commit(self) -> None:
        """Make this transaction's changes permanent."""
        self.session.commit()

    def flush(self) -> None:
        """Send pending changes to the database without committing (to get ids, hit constraints)."""
        self.session.flush()
