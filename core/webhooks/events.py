"""Emitting events: a delivery row per subscribed endpoint, written in the caller's transaction.

The rows are an outbox: they commit (or roll back) with the change they describe, and a delivery
job is submitted after the commit. Should that submission fail, the periodic pass delivers them.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.background import kinds
from core.background.service import submit
from core.db import UnitOfWork
from core.db.models import WEBHOOK_EVENTS, WebhookDelivery, WebhookEndpoint, utcnow
from core.webhooks.signing import new_message_id

log = logging.getLogger(__name__)
_KICK_FLAG = "webhooks_kick_after_commit"


_ENDPOINTS = "webhooks.endpoints"  # session.info: workspace id -> its endpoints, read once per transaction


def _endpoints(session: Session, workspace_id: int) -> list[tuple[int, list[str]]]:
    """The workspace's endpoints and their events, read once per session (a chunk of replies emits an event
    per mail); forgotten when the session writes an endpoint (``_forget_endpoints``)."""
    cache: dict[int, list[tuple[int, list[str]]]] = session.info.setdefault(_ENDPOINTS, {})
    if workspace_id not in cache:
        cache[workspace_id] = [
            (endpoint_id, list(events or []))
            for endpoint_id, events in session.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.workspace_id == workspace_id)
            )
        ]
    return cache[workspace_id]


@sa_event.listens_for(Session, "after_flush")
def _forget_endpoints(session: Session, _context: Any) -> None:
    if _ENDPOINTS in session.info and any(
        isinstance(row, WebhookEndpoint) for rows in (session.new, session.dirty, session.deleted) for row in rows
    ):
        del session.info[_ENDPOINTS]


def emit(uow: UnitOfWork | Session, *, workspace_id: int, event: str, data: dict[str, Any]) -> int:
    """Owe ``event`` to every endpoint of the workspace subscribed to it; how many deliveries were added."""
    return emit_many(uow, workspace_id=workspace_id, event=event, items=[data])


def emit_many(uow: UnitOfWork | Session, *, workspace_id: int, event: str, items: list[dict[str, Any]]) -> int:
    """``emit`` for many items of one event, with one look-up of the endpoints."""
    if event not in WEBHOOK_EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if not items:
        return 0
    session = uow.session if isinstance(uow, UnitOfWork) else uow
    endpoints = _endpoints(session, workspace_id)
    subscribed = [endpoint_id for endpoint_id, events in endpoints if event in (events or [])]
    if not subscribed:
        return 0
    now = utcnow()
    timestamp = now.isoformat().replace("+00:00", "Z")
    for data in items:
        body = json.dumps({"type": event, "timestamp": timestamp, "data": data}, separators=(",", ":"), default=str)
        for endpoint_id in subscribed:
            session.add(
                WebhookDelivery(
                    workspace_id=workspace_id,
                    endpoint_id=endpoint_id,
                    event=event,
                    message_id=new_message_id(),
                    body=body,
                    status="pending",
                    next_attempt_at=now,
                )
            )
    _deliver_after_commit(session)
    return len(subscribed) * len(items)


def _deliver_after_commit(session: Session) -> None:
    if session.info.get(_KICK_FLAG):
        return
    session.info[_KICK_FLAG] = True

    def kick(committed: Session) -> None:
        committed.info.pop(_KICK_FLAG, None)
        submit_delivery_job()

    sa_event.listen(session, "after_commit", kick, once=True)


def submit_delivery_job() -> int | None:
    """Submit a delivery pass; a failure is logged (the periodic pass will deliver instead)."""
    try:
        return submit(kind=kinds.WEBHOOKS_DELIVER)
    except Exception:  # noqa: BLE001 - the caller's change is committed; delivery only waits
        log.exception("could not submit the webhook delivery job")
        return None


def lead_data(lead: Any) -> dict[str, Any]:
    """The ``data`` of a lead event."""
    return {
        "id": lead.id,
        "domain": lead.domain,
        "website": lead.website,
        "name": lead.name,
        "status": lead.status,
        "source": lead.source,
        "campaign_id": lead.campaign_id,
        "score": lead.score,
    }
