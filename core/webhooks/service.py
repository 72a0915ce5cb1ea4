"""Webhook endpoints of a workspace: register (the secret is shown once), list, change, delete; the
delivery log; redelivery by hand. Admins and owners only; every change is audited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from sqlalchemy import select

from core.actor import Actor
from core.audit import audit
from core.config import get_settings
from core.crawl.addresses import SystemResolver, check_url
from core.crawl.override import resolver_from_settings
from core.db import UnitOfWork
from core.db.models import WEBHOOK_EVENTS, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from core.errors import CrawlError, InvalidInput, NotFound
from core.webhooks.delivery import policy_from_settings
from core.webhooks.events import submit_delivery_job
from core.webhooks.models import AttemptView, CreatedEndpoint, DeliveryView, EndpointView
from core.webhooks.sealing import seal
from core.webhooks.signing import new_secret

MAX_ENDPOINTS = 20  # per workspace
EVENTS = WEBHOOK_EVENTS  # what an endpoint can subscribe to


def check_endpoint_url(url: str) -> str:
    """The URL, when the crawler's SSRF rules let LeadScout POST to it; ``InvalidInput`` with the reason."""
    url = url.strip()
    if not url or len(url) > 2048:
        raise InvalidInput("Give the endpoint's URL (https://…, at most 2048 characters).")
    settings = get_settings()
    resolver = resolver_from_settings(settings.crawl_resolve) or SystemResolver()
    try:
        target = asyncio.run(check_url(url, policy=policy_from_settings(settings), resolver=resolver))
    except CrawlError as exc:
        raise InvalidInput(f"This webhook URL cannot be used: {exc}") from exc
    return target.url


def parse_events(events: Sequence[str]) -> tuple[str, ...]:
    """The chosen events, checked and in a fixed order."""
    wanted = {e.strip() for e in events if e.strip()}
    unknown = wanted - set(WEBHOOK_EVENTS)
    if unknown:
        raise InvalidInput(f"Unknown event(s) {', '.join(sorted(unknown))}; choose from {', '.join(WEBHOOK_EVENTS)}.")
    if not wanted:
        raise InvalidInput("Choose at least one event for the endpoint.")
    return tuple(e for e in WEBHOOK_EVENTS if e in wanted)


def _view(row: WebhookEndpoint) -> EndpointView:
    return EndpointView(
        row.id, row.url, tuple(row.events or ()), row.description, row.status, row.failing_since, row.created_at
    )


def _owned(uow: UnitOfWork, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    row = uow.session.get(WebhookEndpoint, endpoint_id)
    if row is None or row.workspace_id != actor.workspace_id:
        raise NotFound(f"Webhook endpoint {endpoint_id} was not found in this workspace.")
    return row


def create_endpoint(
    *, actor: Actor, url: str, events: Sequence[str], description: str = "", uow: UnitOfWork | None = None
) -> CreatedEndpoint:
    """Register an endpoint; the returned ``secret`` is never shown again."""
    actor.require_permission("webhook.manage")
    chosen = parse_events(events)
    label = " ".join(description.split())[:200]
    checked = check_endpoint_url(url)
    secret = new_secret()
    uow = uow or UnitOfWork()
    with uow:
        count = len(
            uow.session.scalars(
                select(WebhookEndpoint.id).where(WebhookEndpoint.workspace_id == actor.workspace_id)
            ).all()
        )
        if count >= MAX_ENDPOINTS:
            raise InvalidInput(f"A workspace can have at most {MAX_ENDPOINTS} webhook endpoints; delete one first.")
        row = WebhookEndpoint(
            workspace_id=actor.workspace_id,
            created_by=actor.user_id,
            url=checked,
            description=label,
            events=list(chosen),
            secret_sealed=seal(secret),
        )
        uow.session.add(row)
        uow.flush()
        audit(
            uow,
            "webhook_endpoint.created",
            actor=actor,
            target_type="webhook_endpoint",
            target_id=row.id,
            detail={"url": checked, "events": list(chosen)},
        )
        uow.commit()
        return CreatedEndpoint(row.id, checked, chosen, label, secret)


def list_endpoints(*, actor: Actor, uow: UnitOfWork | None = None) -> list[EndpointView]:
    """The workspace's endpoints, newest first."""
    actor.require_permission("webhook.manage")
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.workspace_id == actor.workspace_id)
            .order_by(WebhookEndpoint.id.desc())
        ).all()
        return [_view(r) for r in rows]


def get_endpoint_or_raise(*, actor: Actor, endpoint_id: int, uow: UnitOfWork | None = None) -> EndpointView:
    """One endpoint of the workspace; ``NotFound`` otherwise."""
    actor.require_permission("webhook.manage")
    uow = uow or UnitOfWork()
    with uow:
        return _view(_owned(uow, actor, endpoint_id))


def update_endpoint(
    *,
    actor: Actor,
    endpoint_id: int,
    url: str | None = None,
    events: Sequence[str] | None = None,
    description: str | None = None,
    uow: UnitOfWork | None = None,
) -> EndpointView:
    """Change an endpoint's URL, events or description (each only when given)."""
    actor.require_permission("webhook.manage")
    checked = check_endpoint_url(url) if url is not None else None
    chosen = parse_events(events) if events is not None else None
    uow = uow or UnitOfWork()
    with uow:
        row = _owned(uow, actor, endpoint_id)
        before = {"url": row.url, "events": list(row.events or []), "description": row.description}
        if checked is not None:
            row.url = checked
        if chosen is not None:
            row.events = list(chosen)
        if description is not None:
            row.description = " ".join(description.split())[:200]
        after = {"url": row.url, "events": list(row.events or []), "description": row.description}
        audit(
            uow,
            "webhook_endpoint.updated",
            actor=actor,
            target_type="webhook_endpoint",
            target_id=row.id,
            detail={"before": before, "after": after},
        )
        uow.commit()
        return _view(row)


def delete_endpoint(*, actor: Actor, endpoint_id: int, uow: UnitOfWork | None = None) -> None:
    """Delete an endpoint and its delivery log."""
    actor.require_permission("webhook.manage")
    uow = uow or UnitOfWork()
    with uow:
        row = _owned(uow, actor, endpoint_id)
        audit(
            uow,
            "webhook_endpoint.deleted",
            actor=actor,
            target_type="webhook_endpoint",
            target_id=row.id,
            detail={"url": row.url},
        )
        uow.session.delete(row)
        uow.commit()


def _delivery_view(row: WebhookDelivery, log: tuple[AttemptView, ...] = ()) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        endpoint_id=row.endpoint_id,
        event=row.event,
        message_id=row.message_id,
        status=row.status,
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        created_at=row.created_at,
        body=row.body,
        log=log,
    )


def list_deliveries(
    *, actor: Actor, endpoint_id: int | None = None, limit: int = 100, uow: UnitOfWork | None = None
) -> list[DeliveryView]:
    """The workspace's deliveries (of one endpoint, when given), newest first."""
    actor.require_permission("webhook.manage")
    uow = uow or UnitOfWork()
    with uow:
        query = select(WebhookDelivery).where(WebhookDelivery.workspace_id == actor.workspace_id)
        if endpoint_id is not None:
            _owned(uow, actor, endpoint_id)
            query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
        rows = uow.session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(max(1, min(limit, 1000)))).all()
        return [_delivery_view(r) for r in rows]


def get_delivery_or_raise(*, actor: Actor, delivery_id: int, uow: UnitOfWork | None = None) -> DeliveryView:
    """A delivery of the workspace with every attempt (oldest first); ``NotFound`` otherwise."""
    actor.require_permission("webhook.manage")
    uow = uow or UnitOfWork()
    with uow:
        row = uow.session.get(WebhookDelivery, delivery_id)
        if row is None or row.workspace_id != actor.workspace_id:
            raise NotFound(f"Webhook delivery {delivery_id} was not found in this workspace.")
        attempts = uow.session.scalars(
            select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.id)
        ).all()
        log = tuple(AttemptView(a.status_code, a.error, a.duration_ms, a.manual, a.created_at) for a in attempts)
        return _delivery_view(row, log)


def redeliver(*, actor: Actor, delivery_id: int, uow: UnitOfWork | None = None) -> DeliveryView:
    """Send a delivery again now, by hand (one attempt, same webhook-id, no automatic retries after it)."""
    actor.require_permission("webhook.manage")
    uow = uow or UnitOfWork()
    with uow:
        row = uow.session.get(WebhookDelivery, delivery_id)
        if row is None or row.workspace_id != actor.workspace_id:
            raise NotFound(f"Webhook delivery {delivery_id} was not found in this workspace.")
        if row.status == "pending" and not row.redeliver_requested and row.attempts == 0:
            raise InvalidInput(f"Delivery {delivery_id} has not been attempted yet; it goes out shortly.")
        row.status, row.next_attempt_at, row.redeliver_requested = "pending", utcnow(), True
        row.claimed_until, row.claim_token = None, ""
        audit(
            uow,
            "webhook_delivery.redelivered",
            actor=actor,
            target_type="webhook_delivery",
            target_id=row.id,
            detail={"endpoint_id": row.endpoint_id, "event": row.event},
        )
        uow.commit()
        view = _delivery_view(row)
    submit_delivery_job()
    return view
