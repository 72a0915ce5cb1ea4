"""The check before the send confirmation: what would certainly fail, per message and for the whole selection.

Everything here is also refused by the sender (``claim``) or by the provider afterwards; checking it
first lets the confirmation say what to fix instead of the message log saying what went wrong.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select

from core.actor import Actor
from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import Contact, Lead, Message, Workspace
from core.errors import InvalidInput
from core.outreach.address_checks import refresh_message_checks
from core.outreach.channels import email_provider_name, sms_provider_name
from core.outreach.compose import sender_address, undeliverable_sender
from core.outreach.suppression import is_suppressed, normalise_address


@dataclass(frozen=True)
class Problem:
    """Something that stops a send, and what to do about it; ``message_id`` None: the whole channel."""

    what: str
    fix: str
    channel: str = ""
    message_id: int | None = None
    contact_id: int | None = None  # an SMS number whose consent can be recorded
    blocking: bool = True
    risky: bool = False  # the address check says risky: sent only when the sender confirms it


@dataclass(frozen=True)
class Target:
    """One message of the selection: who it goes to."""

    message_id: int
    lead_name: str
    contact: str
    channel: str


@dataclass(frozen=True)
class Preflight:
    """The selection, its problems, and the messages that can go."""

    targets: tuple[Target, ...]
    problems: tuple[Problem, ...]

    @property
    def blocked_ids(self) -> frozenset[int]:
        """Messages that would fail: their own problem or their channel's."""
        stopped = {p.channel for p in self.problems if p.blocking and p.message_id is None}
        return frozenset(
            t.message_id
            for t in self.targets
            if t.channel in stopped or any(p.blocking and p.message_id == t.message_id for p in self.problems)
        )

    @property
    def ready(self) -> tuple[Target, ...]:
        """The messages nothing stops (risky addresses included: see ``risky_ids``)."""
        blocked = self.blocked_ids
        return tuple(t for t in self.targets if t.message_id not in blocked)

    @property
    def risky_ids(self) -> frozenset[int]:
        """Ready messages to addresses checked risky: they go only after a confirmation."""
        blocked = self.blocked_ids
        return frozenset(
            p.message_id for p in self.problems if p.risky and p.message_id is not None and p.message_id not in blocked
        )

    def counts(self, targets: tuple[Target, ...] | None = None) -> dict[str, int]:
        """Messages per channel (of ``targets``, else of the whole selection)."""
        return dict(Counter(t.channel for t in (self.targets if targets is None else targets)))


def _channel_problems(channels: set[str], ws: dict, settings: Settings) -> list[Problem]:
    problems: list[Problem] = []
    if "email" in channels:
        if not (ws.get("postal_address") or "").strip():
            problems.append(
                Problem(
                    "No postal address: every email must carry the sender's postal address.",
                    "Enter it on the Sending rules tab.",
                    channel="email",
                )
            )
        provider = email_provider_name(settings)
        reason = undeliverable_sender(sender_address(ws, settings))
        if reason:
            problems.append(
                Problem(
                    f"From address: {reason}; replies and bounces would be lost and providers reject it.",
                    "Set the workspace's From address (or OUTREACH_FROM_EMAIL) to a mailbox you read.",
                    channel="email",
                    blocking=provider != "outbox",  # the outbox delivers nothing, so nothing can bounce
                )
            )
        if provider == "outbox":
            problems.append(
                Problem(
                    "Only the outbox is configured for email: messages are recorded, not delivered.",
                    "Configure SMTP, SendGrid or Mailgun (see Settings) to deliver them.",
                    channel="email",
                    blocking=False,
                )
            )
    if "sms" in channels and sms_provider_name(settings) == "outbox":
        problems.append(
            Problem(
                "Only the outbox is configured for SMS: texts are recorded, not delivered.",
                "Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM to deliver them.",
                channel="sms",
                blocking=False,
            )
        )
    return problems


def preflight(
    *, actor: Actor, message_ids: list[int], settings: Settings | None = None, uow: UnitOfWork | None = None
) -> Preflight:
    """Check approved or queued messages before sending: postal address, From address, consent, suppression,
    the email address checks (redone first when missing or stale: DNS, outside any transaction)."""
    actor.require_permission("outreach.send")
    settings = settings or get_settings()
    refresh_message_checks(workspace_id=actor.workspace_id, message_ids=message_ids, settings=settings)
    uow = uow or UnitOfWork()
    targets: list[Target] = []
    problems: list[Problem] = []
    with uow:
        workspace = uow.session.get(Workspace, actor.workspace_id)
        assert workspace is not None
        ws = dict(workspace.settings)
        rows = uow.session.execute(
            select(Message.id, Message.channel, Lead.name, Lead.domain, Lead.status, Contact)
            .join(Lead, Lead.id == Message.lead_id)
            .join(Contact, Contact.id == Message.contact_id)
            .where(
                Message.workspace_id == actor.workspace_id,
                Message.id.in_(message_ids),
                Message.status.in_(("approved", "queued")),
            )
            .order_by(Message.id)
        ).all()
        for message_id, channel, name, domain, lead_status, contact in rows:
            targets.append(Target(message_id, name or domain, contact.value, channel))
            problems.extend(_message_problems(uow, actor, ws, message_id, channel, lead_status, contact))
    problems = _channel_problems({t.channel for t in targets}, ws, settings) + problems
    return Preflight(targets=tuple(targets), problems=tuple(problems))


def _message_problems(
    uow: UnitOfWork, actor: Actor, ws: dict, message_id: int, channel: str, lead_status: str, contact: Contact
) -> list[Problem]:
    out: list[Problem] = []
    if lead_status == "do_not_contact":
        out.append(Problem("The lead is marked do-not-contact.", "Leave it out.", channel, message_id))
    try:
        address = normalise_address(channel, contact.normalised_value or contact.value)
    except InvalidInput:
        out.append(
            Problem(f"'{contact.value}' is not a valid {channel} address.", "Fix the contact.", channel, message_id)
        )
        return out
    reason = is_suppressed(uow.session, workspace_id=actor.workspace_id, channel=channel, address=address)
    if reason:
        out.append(
            Problem(
                f"{contact.value} is suppressed ({reason}).",
                "Leave it out: it will never be sent.",
                channel,
                message_id,
            )
        )
    if channel == "email" and contact.verification == "invalid":
        why = "; ".join(contact.verification_reasons or ()) or "no mail server"
        out.append(
            Problem(
                f"{contact.value} failed the address check ({why}).",
                "Leave it out, or correct the address on the lead.",
                channel,
                message_id,
            )
        )
    elif channel == "email" and contact.verification == "risky":
        why = "; ".join(contact.verification_reasons or ()) or "risky"
        out.append(
            Problem(
                f"{contact.value} is risky ({why}).",
                "It is sent only if you tick the confirmation for risky addresses.",
                channel,
                message_id,
                blocking=False,
                risky=True,
            )
        )
    if channel == "sms" and contact.sms_consent_at is None and ws.get("sms_consent_required", True) is not False:
        out.append(
            Problem(
                f"No SMS consent is recorded for {contact.value}.",
                "Record when and where the owner agreed to texts (below), or leave it out.",
                channel,
                message_id,
                contact_id=contact.id,
            )
        )
    return out
