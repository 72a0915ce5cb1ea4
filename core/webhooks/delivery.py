"""Delivering: claim due deliveries with a lease, POST them signed through the crawler's SSRF guard,
record each attempt, and schedule a retry (backoff from WEBHOOK_RETRY_DELAYS) or give up.

A claim is a conditional UPDATE that sets ``claimed_until``; a worker killed mid-delivery records
nothing, its lease runs out, and the next pass claims and sends the delivery again (same
``webhook-id``). A result is written only by the holder of the current claim.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from sqlalchemy import CursorResult, or_, select, update

from core.config import Settings, get_settings
from core.crawl.addresses import AddressPolicy
from core.crawl.override import resolver_from_settings
from core.crawl.transport import GuardedTransport, HttpcoreConnector
from core.db import UnitOfWork
from core.db.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from core.webhooks.models import DeliveryPass
from core.webhooks.sealing import unseal
from core.webhooks.signing import signed_headers

PASS_SIZE = 50  # deliveries claimed per pass
CONCURRENCY = 8  # POSTs in flight per pass
USER_AGENT = "LeadScout-Webhooks/1.0"


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds, with what it needs to send it."""

    id: int
    token: str
    url: str
    secret: str
    message_id: str
    body: str


@dataclass(frozen=True)
class Outcome:
    """What one POST got: a status code, or an error when no response came."""

    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        """A 2xx response."""
        return self.status_code is not None and 200 <= self.status_code < 300


def policy_from_settings(settings: Settings) -> AddressPolicy:
    """The crawler's SSRF policy (CRAWL_ALLOW_PRIVATE, CRAWL_ALLOWED_PORTS) also governs webhook URLs."""
    return AddressPolicy.from_settings_text(
        allow_private=settings.crawl_allow_private, allowed_ports=settings.crawl_allowed_ports
    )


def claim_due(
    *,
    now: datetime | None = None,
    limit: int = PASS_SIZE,
    workspace_id: int | None = None,
    settings: Settings | None = None,
) -> list[Claimed]:
    """Claim up to ``limit`` due deliveries not held by a live claim (of one workspace, when given)."""
    settings = settings or get_settings()
    now = now or utcnow()
    lease = now + timedelta(seconds=settings.webhook_claim_seconds)
    free = or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now)
    claimed: list[Claimed] = []
    due = select(WebhookDelivery.id).where(
        WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now, free
    )
    if workspace_id is not None:
        due = due.where(WebhookDelivery.workspace_id == workspace_id)
    with UnitOfWork() as uow:
        ids = uow.session.scalars(due.order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)).all()
        for delivery_id in ids:
            token = uuid.uuid4().hex
            taken = cast(
                CursorResult[Any],
                uow.session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending", free)
                    .values(claimed_until=lease, claim_token=token)
                ),
            )
            uow.commit()  # one claim per statement: another worker skips what this one took
            if not taken.rowcount:
                continue
            row = uow.session.execute(
                select(
                    WebhookDelivery.message_id, WebhookDelivery.body, WebhookEndpoint.url, WebhookEndpoint.secret_sealed
                )
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
                .where(WebhookDelivery.id == delivery_id)
            ).first()
            if row is None:
                continue  # its endpoint was deleted meanwhile (the delivery went with it)
            message_id, body, url, sealed = row
            claimed.append(Claimed(delivery_id, token, url, unseal(sealed) or "", message_id, body))
    return claimed


async def _post_all(items: list[Claimed], settings: Settings) -> list[Outcome]:
    transport = GuardedTransport(
        policy=policy_from_settings(settings),
        resolver=resolver_from_settings(settings.crawl_resolve),
        connector=HttpcoreConnector(),
    )
    timeout = httpx.Timeout(settings.webhook_timeout_seconds)
    gate = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(transport=transport, timeout=timeout, follow_redirects=False) as client:

        async def post(item: Claimed) -> Outcome:
            async with gate:
                return await post_one(client, item)

        return list(await asyncio.gather(*(post(i) for i in items)))


async def post_one(client: httpx.AsyncClient, item: Claimed) -> Outcome:
    """POST one delivery, signed now; any failure becomes an ``Outcome`` with no status code."""
    started = time.monotonic()
    if not item.secret:
        return Outcome(None, "The endpoint's secret cannot be read (SECRET_KEY changed?); rotate it.", 0)
    headers = signed_headers(secret=item.secret, message_id=item.message_id, timestamp=int(time.time()), body=item.body)
    headers["user-agent"] = USER_AGENT
    try:
        response = await client.post(item.url, content=item.body.encode(), headers=headers)
        await response.aclose()
        error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return Outcome(response.status_code, error, int((time.monotonic() - started) * 1000))
    except Exception as exc:  # noqa: BLE001 - SSRF refusal, timeout, connection error: all an attempt's failure
        message = str(exc) or type(exc).__name__
        return Outcome(None, message[:1000], int((time.monotonic() - started) * 1000))


def record(item: Claimed, outcome: Outcome, *, now: datetime | None = None, settings: Settings | None = None) -> str:
    """Write the attempt and move the delivery on; returns its new status ('' when the claim was lost)."""
    settings = settings or get_settings()
    now = now or utcnow()
    delays = settings.webhook_retry_delays
    with UnitOfWork() as uow:
        delivery = uow.session.get(WebhookDelivery, item.id)
        if delivery is None or delivery.claim_token != item.token or delivery.status != "pending":
            return ""  # another worker took it over after our lease ran out; its result stands
        manual = delivery.redeliver_requested
        uow.session.add(
            WebhookAttempt(
                delivery_id=item.id,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                manual=manual,
            )
        )
        delivery.attempts += 1
        delivery.last_status_code = outcome.status_code
        delivery.last_error = outcome.error
        delivery.claimed_until, delivery.claim_token, delivery.redeliver_requested = None, "", False
        endpoint = uow.session.get(WebhookEndpoint, delivery.endpoint_id)
        if outcome.ok:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = "succeeded", now, None
            if endpoint is not None and endpoint.status != "active":
                endpoint.status, endpoint.failing_since = "active", None
        elif manual or delivery.attempts > len(delays):
            delivery.status, delivery.next_attempt_at = "failed", None
            if endpoint is not None and endpoint.status != "failing":
                endpoint.status, endpoint.failing_since = "failing", now
        else:
            delivery.next_attempt_at = now + timedelta(seconds=delays[delivery.attempts - 1])
        status = delivery.status if delivery.status != "pending" else "retrying"
        uow.commit()
        return status


def deliver_due(
    *, now: datetime | None = None, workspace_id: int | None = None, settings: Settings | None = None
) -> DeliveryPass:
    """One pass: claim what is due (of one workspace, if given), POST it, record the outcomes."""
    settings = settings or get_settings()
    items = claim_due(now=now, workspace_id=workspace_id, settings=settings)
    if not items:
        return DeliveryPass()
    outcomes = asyncio.run(_post_all(items, settings))
    counts = {"succeeded": 0, "retrying": 0, "failed": 0}
    for item, outcome in zip(items, outcomes, strict=True):
        status = record(item, outcome, now=now, settings=settings)
        if status in counts:
            counts[status] += 1
    return DeliveryPass(claimed=len(items), **counts)
