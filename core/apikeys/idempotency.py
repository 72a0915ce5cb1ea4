"""The Idempotency-Key store: the first POST with a key claims it, later ones replay its response.

``claim`` inserts the record before the request is handled, so of two concurrent requests with the
same key exactly one wins the unique constraint; the other waits for the winner's response.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import IdempotencyRecord, utcnow
from core.errors import InvalidInput

KEY_SHAPE = re.compile(r"[\x21-\x7e]{1,255}")
ABANDONED_AFTER = timedelta(minutes=5)  # a claim whose process died this long ago may be taken over


@dataclass(frozen=True)
class Claim:
    """The outcome of ``claim``: ``record_id`` to finish (ours) or a stored response to replay."""

    record_id: int | None = None
    status_code: int | None = None
    content_type: str = ""
    body: str = ""
    in_progress: bool = False


def _expired_before() -> object:
    return utcnow() - timedelta(hours=get_settings().api_idempotency_hours)


def claim(*, key_hash: str, idempotency_key: str, request_hash: str, wait_seconds: float = 10.0) -> Claim:
    """Claim ``idempotency_key`` for this request, or return the response stored for it.

    ``InvalidInput`` when the key was used with a different request. A claim still in progress
    after ``wait_seconds`` comes back with ``in_progress`` set.
    """
    if not KEY_SHAPE.fullmatch(idempotency_key):
        raise InvalidInput("Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces).")
    deadline = time.monotonic() + wait_seconds
    delay = 0.02
    while True:
        with UnitOfWork() as uow:
            s = uow.session
            s.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.key_hash == key_hash,
                    IdempotencyRecord.idempotency_key == idempotency_key,
                    (IdempotencyRecord.created_at < _expired_before())
                    | (
                        IdempotencyRecord.status_code.is_(None)
                        & (IdempotencyRecord.created_at < utcnow() - ABANDONED_AFTER)
                    ),
                )
            )
            try:
                with s.begin_nested():
                    record = IdempotencyRecord(
                        key_hash=key_hash, idempotency_key=idempotency_key, request_hash=request_hash
                    )
                    s.add(record)
                uow.commit()
                return Claim(record_id=record.id)
            except IntegrityError:
                pass
            existing = s.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.key_hash == key_hash, IdempotencyRecord.idempotency_key == idempotency_key
                )
            )
            uow.commit()
        if existing is None:
            continue  # it was released between our insert and our read: try again
        if existing.request_hash != request_hash:
            raise InvalidInput("This Idempotency-Key was already used with a different request.")
        if existing.status_code is not None:
            return Claim(status_code=existing.status_code, content_type=existing.content_type, body=existing.body)
        if time.monotonic() >= deadline:
            return Claim(in_progress=True)
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def finish(*, record_id: int, status_code: int, content_type: str, body: str) -> None:
    """Store the response of the claimed request, to be replayed for the same key."""
    with UnitOfWork() as uow:
        uow.session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record_id)
            .values(status_code=status_code, content_type=content_type[:120], body=body)
        )
        uow.commit()


def release(*, record_id: int) -> None:
    """Forget a claim whose request failed (a server error): the client may try again with the same key."""
    with UnitOfWork() as uow:
        uow.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == record_id))
        uow.commit()
