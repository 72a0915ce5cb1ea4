"""Claiming a queued message for sending, atomically, with every check in the same transaction.

PostgreSQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks rows no other sender holds. SQLite:
``BEGIN IMMEDIATE`` takes the write lock first, so the read, the checks and the claim run alone.
On both, the claim is a conditional ``UPDATE ... WHERE status = 'queued'`` whose row count must
be 1, so a row can move to ``sending`` exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from core.config import Settings
from core.db import UnitOfWork
from core.db.models import Contact, Lead, Message, MessageEvent, Workspace
from core.outreach import limits
from core.outreach.models import OutgoingMessage
from core.outreach.suppression import is_suppressed, normalise_address
from core.outreach.templates import email_footer
from core.outreach.unsubscribe import unsubscribe_url

CANDIDATES_PER_CLAIM = 20
COUNTED_TOWARDS_CAP = ("sending", "unknown")


@dataclass(frozen=True)
class ClaimOutcome:
    """What one claim attempt did: claimed a message, refused one, or found nothing to do."""

    kind: str  # "claimed" | "refused" | "none"
    message: OutgoingMessage | None = None
    provider: str = ""
    lead_id: int = 0
    message_id: int = 0
    reason: str = ""
    waiting: tuple[int, ...] = ()
    capped: tuple[int, ...] = ()


def _begin_claim(session: Session) -> None:
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def _sent_today(session: Session, *, workspace_id: int, channel: str, provider: str, since: datetime) -> int:
    return session.scalar(
        select(func.count()).select_from(Message).where(
            Message.workspace_id == workspace_id,
            Message.channel == channel,
            Message.provider == provider,
            or_(Message.status.in_(COUNTED_TOWARDS_CAP), Message.sent_at >= since),
        )
    ) or 0


def _refusal(message: Message, lead: Lead | None, contact: Contact | None, workspace: Workspace) -> str:
    if lead is None or contact is None:
        return "Not sent: the lead or contact was deleted."
    if lead.status == "do_not_contact":
        return "Not sent: the lead is marked do-not-contact."
    reason = is_suppressed(session_of(message), workspace_id=message.workspace_id, channel=message.channel,
                           address=contact.normalised_value or contact.value)
    if reason:
        return f"Not sent: the address is suppressed ({reason})."
    if message.channel == "sms" and contact.sms_consent_at is None and workspace.settings.get("sms_consent_required", True):
        return "Not sent: no SMS consent is recorded for this number."
    if message.channel == "email" and not (workspace.settings.get("postal_address") or "").strip():
        return "Not sent: set the workspace's postal address (required in every email) first."
    return ""


def session_of(row: object) -> Session:
    """The session a loaded row belongs to."""
    from sqlalchemy.orm import object_session

    session = object_session(row)
    assert session is not None
    return session


def outgoing_for(message: Message, lead: Lead, contact: Contact, workspace: Workspace, settings: Settings) -> OutgoingMessage:
    """The message as it leaves: compliance footer, unsubscribe link, sender and headers."""
    ws = workspace.settings
    address = contact.value.strip()
    url = ""
    body = message.body
    if message.channel == "email":
        url = unsubscribe_url(workspace_id=workspace.id, channel="email", address=normalise_address("email", address),
                              base_url=settings.public_base_url)
        body = body.rstrip() + email_footer(postal_address=ws.get("postal_address", ""), unsubscribe_url=url)
    from_address = ws.get("from_email") or settings.outreach_from_email or settings.smtp_user or "outreach@localhost"
    domain = from_address.rpartition("@")[2] or "localhost"
    callback = ""
    if message.channel == "sms":
        callback = f"{settings.public_base_url.rstrip('/')}/hooks/twilio?m={message.id}"
    return OutgoingMessage(
        message_id=message.id,
        workspace_id=workspace.id,
        channel=message.channel,
        to_address=address,
        to_name=contact.person_name or "",
        from_address=from_address,
        from_name=ws.get("from_name") or settings.outreach_from_name,
        subject=message.subject,
        body=body,
        unsubscribe_url=url,
        message_id_header=f"<leadscout.{workspace.id}.{message.id}@{domain}>",
        status_callback=callback,
    )


def claim_next_message(
    *, uow: UnitOfWork, settings: Settings, providers: dict[str, str], now: datetime,
    workspace_id: int | None = None, skip: frozenset[int] = frozenset(),
) -> ClaimOutcome:
    """Claim one queued message (queued -> sending), or refuse one that must not go (-> failed)."""
    waiting: list[int] = []
    capped: list[int] = []
    with uow:
        session = uow.session
        _begin_claim(session)
        query = select(Message).where(Message.status == "queued")
        if workspace_id is not None:
            query = query.where(Message.workspace_id == workspace_id)
        if skip:
            query = query.where(Message.id.not_in(skip))
        query = query.order_by(Message.id).limit(CANDIDATES_PER_CLAIM).with_for_update(skip_locked=True, of=Message)
        for message in session.scalars(query).all():
            workspace = session.get(Workspace, message.workspace_id)
            assert workspace is not None
            lead = session.get(Lead, message.lead_id)
            contact = session.get(Contact, message.contact_id)
            refusal = _refusal(message, lead, contact, workspace)
            provider = providers[message.channel]
            if not refusal:
                assert lead is not None and contact is not None
                tz = workspace.settings.get("timezone") or "UTC"
                zones = limits.recipient_zones(location=lead.location, country=lead.country,
                                               phone=contact.value if message.channel == "sms" else "", fallback=tz)
                if not limits.in_window(now, zones, limits.window_of(workspace.settings)):
                    waiting.append(message.id)
                    continue
                cap = limits.daily_cap(workspace.settings, message.channel)
                if cap is not None and _sent_today(session, workspace_id=workspace.id, channel=message.channel,
                                                   provider=provider, since=limits.start_of_day(now, tz)) >= cap:
                    capped.append(message.id)
                    continue
            new_status = "failed" if refusal else "sending"
            claimed = session.execute(
                update(Message)
                .where(Message.id == message.id, Message.status == "queued")
                .values(status=new_status, error=refusal, provider=provider, attempts=Message.attempts + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                continue
            session.add(MessageEvent(workspace_id=message.workspace_id, message_id=message.id, status=new_status,
                                     detail=refusal or f"claimed for {provider}"))
            outgoing = None if refusal else outgoing_for(message, lead, contact, workspace, settings)  # type: ignore[arg-type]
            uow.commit()
            return ClaimOutcome(
                kind="refused" if refusal else "claimed", message=outgoing, provider=provider,
                lead_id=message.lead_id, message_id=message.id, reason=refusal,
                waiting=tuple(waiting), capped=tuple(capped),
            )
    return ClaimOutcome(kind="none", waiting=tuple(waiting), capped=tuple(capped))
