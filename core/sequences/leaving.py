"""Why a contact leaves its sequence, read again in the transaction that is about to queue its next step."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from core.db.models import Contact, Enrollment, Lead, Message, Reply, Sequence, Suppression


def leaving_reason(session: Session, enrollment: Enrollment, sequence: Sequence, lead: Lead | None) -> tuple[str, str]:
    """Why the contact leaves now (reason, detail), or ("", "")."""
    if lead is None or lead.deleted_at is not None:
        return "status", "the lead was deleted"
    if lead.status == "do_not_contact" or lead.status in sequence.stop_statuses:
        return "status", f"the lead's status is {lead.status}"
    reply = session.execute(
        select(Reply.label, Reply.from_address)
        .where(
            Reply.workspace_id == enrollment.workspace_id,
            Reply.lead_id == lead.id,
            Reply.received_at >= enrollment.created_at,
            Reply.label != "auto_reply",
            or_(Reply.label != "bounce", ~Reply.bounce_status.startswith("4")),
        )
        .order_by(Reply.id)
        .limit(1)
    ).first()
    if reply is not None:
        reason = {"bounce": "bounced", "unsubscribe": "unsubscribed"}.get(reply.label, "replied")
        return reason, f"{reply.label.replace('_', ' ')} from {reply.from_address}"[:500]
    settled = session.scalar(
        select(Message.status)
        .where(Message.enrollment_id == enrollment.id, Message.status.in_(("replied", "bounced")))
        .limit(1)
    )
    if settled:
        return settled, f"a step was {settled}"
    suppressed = session.execute(
        select(Suppression.reason, Suppression.address)
        .join(
            Contact,
            and_(
                Contact.normalised_value == Suppression.address,
                or_(
                    and_(Suppression.channel == "email", Contact.kind == "email"),
                    and_(Suppression.channel == "sms", Contact.kind == "phone"),
                ),
            ),
        )
        .where(Contact.lead_id == lead.id, Suppression.workspace_id == enrollment.workspace_id)
        .limit(1)
    ).first()
    if suppressed is not None:
        reason = {"stop": "stop", "bounced": "bounced"}.get(suppressed.reason, "unsubscribed")
        return reason, f"{suppressed.address} is suppressed ({suppressed.reason})"
    return "", ""
