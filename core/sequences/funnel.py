"""The per-step funnel of a sequence: sent at each step, and the replies, bounces and opt-outs that followed it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actor import Actor
from core.db import UnitOfWork
from core.db.models import Enrollment, Message, Sequence, SequenceStep
from core.sequences.models import FunnelRow
from core.sequences.service import sequence_or_raise

OUTCOME_OF = {"replied": "replied", "bounced": "bounced", "unsubscribed": "unsubscribed", "stop": "unsubscribed"}


def funnel(*, actor: Actor, sequence_id: int, uow: UnitOfWork | None = None) -> list[FunnelRow]:
    """Per step: messages sent, and contacts who replied, bounced or unsubscribed after it was their last one."""
    actor.require_permission("sequence.view")
    uow = uow or UnitOfWork()
    with uow:
        sequence_or_raise(uow, actor.workspace_id, sequence_id)
        return _funnel(uow.session, sequence_id)


def all_funnels(*, actor: Actor, uow: UnitOfWork | None = None) -> list[tuple[int, str, list[FunnelRow]]]:
    """Every sequence of the workspace (id, name; by name) with its per-step funnel, for Insights."""
    actor.require_permission("sequence.view")
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.execute(
            select(Sequence.id, Sequence.name)
            .where(Sequence.workspace_id == actor.workspace_id)
            .order_by(Sequence.name)
        ).all()
        return [(sequence_id, name, _funnel(uow.session, sequence_id)) for sequence_id, name in rows]


def _funnel(session: Session, sequence_id: int) -> list[FunnelRow]:
    steps = session.execute(
        select(SequenceStep.position, SequenceStep.channel)
        .where(SequenceStep.sequence_id == sequence_id)
        .order_by(SequenceStep.position)
    ).all()
    ours = select(Enrollment.id).where(Enrollment.sequence_id == sequence_id)
    sent = dict(
        session.execute(
            select(Message.step, func.count())
            .where(Message.enrollment_id.in_(ours), Message.sent_at.is_not(None))
            .group_by(Message.step)
        ).all()
    )
    last_sent = (
        select(Message.enrollment_id, func.max(Message.step).label("step"))
        .where(Message.enrollment_id.in_(ours), Message.sent_at.is_not(None))
        .group_by(Message.enrollment_id)
        .subquery()
    )
    after: dict[tuple[int, str], int] = {}
    for step, reason, count in session.execute(
        select(last_sent.c.step, Enrollment.reason, func.count())
        .join(Enrollment, Enrollment.id == last_sent.c.enrollment_id)
        .where(Enrollment.status == "left", Enrollment.reason.in_(OUTCOME_OF))
        .group_by(last_sent.c.step, Enrollment.reason)
    ).all():
        key = (step, OUTCOME_OF[reason])
        after[key] = after.get(key, 0) + count
    return [
        FunnelRow(
            position=position,
            channel=channel,
            sent=int(sent.get(position, 0)),
            replied=after.get((position, "replied"), 0),
            bounced=after.get((position, "bounced"), 0),
            unsubscribed=after.get((position, "unsubscribed"), 0),
        )
        for position, channel in steps
    ]
