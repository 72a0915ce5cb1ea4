"""Reviewing a draft before approval: what it will look like when sent, and a test copy to oneself.

Editing is ``service.edit_draft`` (which re-runs the evidence check). A test send goes to the
signed-in user's own address through the configured email channel; it is no outreach: no message
row changes, no daily cap is spent, no tracking id is attached (message id 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.actor import Actor
from core.audit import audit
from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import Contact, Lead, Message, User, Workspace
from core.errors import InvalidInput, NotFound, SendError
from core.outreach.channels import channel_for, email_provider_name
from core.outreach.compose import compose_outgoing, sender_address
from core.outreach.models import OutgoingMessage
from core.outreach.templates import email_footer

TEST_UNSUBSCRIBE = "(the recipient's own unsubscribe link goes here)"


@dataclass(frozen=True)
class DraftPreview:
    """A draft as its recipient would get it, with the sentences that still lack evidence."""

    message_id: int
    lead_name: str
    channel: str
    status: str
    to: str
    sender: str
    subject: str
    body: str  # as stored (what the editor edits)
    sent_body: str  # with the compliance footer the sender adds
    flags: tuple[tuple[str, str], ...]  # (sentence, reason)

    @property
    def approvable(self) -> bool:
        """True when no blocking flag is left."""
        return not self.flags


@dataclass(frozen=True)
class TestSend:
    """What a test send did: the address, the provider, and whether anything left the machine."""

    to: str
    provider: str
    delivered: bool


def _draft(uow: UnitOfWork, actor: Actor, message_id: int) -> tuple[Message, Contact, Lead, Workspace]:
    row = uow.session.execute(
        select(Message, Contact, Lead, Workspace)
        .join(Contact, Contact.id == Message.contact_id)
        .join(Lead, Lead.id == Message.lead_id)
        .join(Workspace, Workspace.id == Message.workspace_id)
        .where(Message.id == message_id, Message.workspace_id == actor.workspace_id)
    ).first()
    if row is None:
        raise NotFound("That message does not exist in this workspace.")
    message, contact, lead, workspace = row
    return message, contact, lead, workspace


def preview_draft(
    *, actor: Actor, message_id: int, settings: Settings | None = None, uow: UnitOfWork | None = None
) -> DraftPreview:
    """The draft with the footer, sender and recipient it would be sent with, and its open flags."""
    actor.require_permission("outreach.view")
    settings = settings or get_settings()
    uow = uow or UnitOfWork()
    with uow:
        message, contact, lead, workspace = _draft(uow, actor, message_id)
        outgoing = compose_outgoing(
            message_id=message.id,
            workspace_id=workspace.id,
            channel=message.channel,
            subject=message.subject,
            body=message.body,
            address=contact.value,
            person_name=contact.person_name,
            workspace_settings=workspace.settings,
            settings=settings,
        )
        return DraftPreview(
            message_id=message.id,
            lead_name=lead.name or lead.domain,
            channel=message.channel,
            status=message.status,
            to=contact.value,
            sender=outgoing.from_address if message.channel == "email" else (settings.twilio_from or "outbox"),
            subject=message.subject,
            body=message.body,
            sent_body=outgoing.body,
            flags=tuple(
                (str(f.get("sentence", "")), str(f.get("reason", ""))) for f in message.flags if f.get("blocking", True)
            ),
        )


def send_test_to_me(
    *, actor: Actor, message_id: int, settings: Settings | None = None, uow: UnitOfWork | None = None
) -> TestSend:
    """Email the draft to the signed-in user's own address (an SMS draft as its text); no outreach is counted."""
    actor.require_permission("outreach.draft")
    settings = settings or get_settings()
    uow = uow or UnitOfWork()
    with uow:
        message, contact, _lead, workspace = _draft(uow, actor, message_id)
        to = uow.session.scalar(select(User.email).where(User.id == actor.user_id)) or actor.email
        ws = workspace.settings
        if message.channel == "email":
            subject = f"[Test] {message.subject}"
            body = message.body.rstrip() + email_footer(
                postal_address=ws.get("postal_address") or "(no postal address set)", unsubscribe_url=TEST_UNSUBSCRIBE
            )
        else:
            subject = f"[Test SMS to {contact.value}]"
            body = message.body
        mail = OutgoingMessage(
            message_id=0,  # no tracking id: a provider's events about it never touch an outreach message
            workspace_id=workspace.id,
            channel="email",
            to_address=to,
            to_name="",
            from_address=sender_address(ws, settings),
            from_name=ws.get("from_name") or settings.outreach_from_name,
            subject=subject,
            body=body,
        )
    provider = email_provider_name(settings)
    if provider != "outbox":
        channel = channel_for("email", settings)
        try:
            channel.send(mail)
        except SendError as error:
            raise InvalidInput(f"The test to {to} was not sent: {error}") from error
        finally:
            channel.close()
    with uow:
        audit(
            uow,
            "message.test_sent",
            actor=actor,
            target_type="message",
            target_id=message_id,
            detail={"to": to, "provider": provider},
        )
        uow.commit()
    return TestSend(to=to, provider=provider, delivered=provider != "outbox")
