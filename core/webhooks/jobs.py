"""The delivery job: passes over due deliveries until none is left (submitted after events and every minute)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.background.context import JobContext
from core.db import UnitOfWork
from core.db.models import WebhookDelivery, utcnow
from core.webhooks.delivery import deliver_due

MAX_PASSES = 20  # a job stops after this many; the next one carries on


def deliver_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Deliver everything due now; safe to run twice at once (claims keep each delivery to one worker)."""
    totals = {"claimed": 0, "succeeded": 0, "retrying": 0, "failed": 0}
    for _ in range(MAX_PASSES):
        done = deliver_due()
        if not done.claimed:
            break
        for name in totals:
            totals[name] += getattr(done, name)
        ctx.progress(totals["claimed"], None, f"{totals['succeeded']} delivered, {totals['retrying']} to retry")
    return totals


def deliveries_due() -> bool:
    """True when some pending delivery is due (the periodic pass submits a job only then)."""
    with UnitOfWork() as uow:
        found = uow.session.scalar(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= utcnow())
            .limit(1)
        )
    return found is not None
