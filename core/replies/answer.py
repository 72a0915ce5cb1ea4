"""Answering a reply from the Inbox: one message, in the person's thread, from the workspace's own
mailbox (SMTP) or email provider — or a text back to a texted answer — through the outbox, so the
suppression list, the address check, the bounce guard, the shared rate and exactly-once sending all
apply. One answer per reply: a double click or a second tab cannot send two."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from core.actor import Actor
from core.audit import audit
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Contact, Lead, Message, MessageEvent, Reply, Workspace, utcnow
from core.errors import InvalidInput, NotFound
from core.outreach.compose import refuse_unsendable_contact, sent_message_id
from core.outreach.service import send_now
from core.outreach.suppression import is_suppressed

MAX_EMAIL_BODY = 20_000
MAX_SMS_BODY = 1_600  # Twilio's limit for one message (up to ten segments)
_RE = re.compile(r"^\s*(re|aw|sv)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class AnswerOutcome:
    """The answer's outbox message, the send job started for it, and its status right after queueing."""

    message_id: int
    job_id: int | None
    status: str
    error: str


def _thread(uow: UnitOfWork, reply: Reply) -> tuple[str, str, str]:
    """(subject, In-Reply-To, References) of an email answer: "Re: " + their subject, answering their mail,
    after the earlier mails of our thread."""
    theirs = reply.message_id_header or (reply.source_key if reply.source_key.startswith("<") else "")
    earlier: list[str] = []
    ours = uow.session.get(Message, reply.message_id) if reply.message_id is not None else None
    if ours is not None and ours.sent_at is not None:
        workspace = uow.session.get(Workspace, ours.workspace_id)
        earlier = [
            *ours.thread_references.split(),
            sent_message_id(ours, workspace.settings if workspace else {}, get_settings()),
        ]
    references = " ".join(dict.fromkeys([*earlier, theirs] if theirs else earlier))
    subject = reply.subject or (ours.subject if ours is not None else "") or "Your reply"
    return ("Re: " + _RE.sub("", subject))[:500], theirs, references


def _contact(uow: UnitOfWork, reply: Reply) -> Contact:
    contact = uow.session.get(Contact, reply.contact_id) if reply.contact_id is not None else None
    if contact is None and reply.lead_id is not None:
        contact = uow.session.scalar(
            select(Contact).where(
                Contact.lead_id == reply.lead_id,
                Contact.kind == ("email" if reply.channel == "email" else "phone"),
                Contact.normalised_value == reply.from_address,
            )
        )
    if contact is None or reply.lead_id is None:
        raise InvalidInput(
            f"This reply from {reply.from_address} is not matched to a lead's contact, so LeadScout cannot "
            "answer it; use Reply in your mail program."
        )
    return contact


def answer_reply(*, actor: Actor, reply_id: int, body: str, uow: UnitOfWork | None = None) -> AnswerOutcome:
    """Write back to the person who replied and start sending; refuses a second answer to the same reply."""
    actor.require_permission("reply.act")
    actor.require_permission("outreach.send")
    text = body.strip()
    uow = uow or UnitOfWork()
    with uow:
        reply = uow.session.get(Reply, reply_id, with_for_update=True)
        if reply is None or reply.workspace_id != actor.workspace_id:
            raise NotFound(f"Reply {reply_id} does not exist in this workspace (it may have been removed).")
        who = reply.from_name or reply.from_address
        if reply.answer_message_id is not None:
            raise InvalidInput(f"{who} has been answered already (message {reply.answer_message_id}); see Outreach.")
        limit = MAX_EMAIL_BODY if reply.channel == "email" else MAX_SMS_BODY
        if not text:
            raise InvalidInput("Write your answer first: it is empty.")
        if len(text) > limit:
            raise InvalidInput(f"The answer is {len(text):,} characters; {reply.channel} allows {limit:,}. Shorten it.")
        contact = _contact(uow, reply)
        channel = "email" if reply.channel == "email" else "sms"
        refuse_unsendable_contact(contact, channel=channel)
        suppressed = is_suppressed(
            uow.session, workspace_id=actor.workspace_id, channel=channel, address=contact.normalised_value
        )
        lead = uow.session.get(Lead, reply.lead_id)
        if suppressed or (lead is not None and lead.status == "do_not_contact"):
            raise InvalidInput(
                f"{contact.value} asked not to be contacted ({suppressed or 'lead marked do not contact'}); "
                "LeadScout does not write to it."
            )
        subject, in_reply_to, references = _thread(uow, reply) if channel == "email" else ("", "", "")
        step = 1 + int(
            uow.session.scalar(
                select(func.max(Message.step)).where(
                    Message.workspace_id == actor.workspace_id,
                    Message.lead_id == reply.lead_id,
                    Message.contact_id == contact.id,
                    Message.channel == channel,
                )
            )
            or 0
        )
        now = utcnow()
        message = Message(
            workspace_id=actor.workspace_id,
            lead_id=reply.lead_id,
            contact_id=contact.id,
            channel=channel,
            step=step,
            subject=subject,
            body=text,
            status="approved",
            approved_by=actor.user_id,
            approved_at=now,
            in_reply_to=in_reply_to,
            thread_references=references,
        )
        uow.session.add(message)
        try:
            uow.session.flush()  # a concurrent answer took this step: the unique outbox key refuses the second
        except IntegrityError:
            raise InvalidInput(f"{who} has just been answered from another tab or click; see Outreach.") from None
        uow.session.add(
            MessageEvent(
                workspace_id=actor.workspace_id,
                message_id=message.id,
                status="approved",
                detail=f"answer to reply {reply.id}, written by {actor.email}",
            )
        )
        # the claim: only the first answer sets it (SQLite reads without a lock, so the check above can race)
        claimed = uow.session.execute(
            update(Reply)
            .where(Reply.id == reply.id, Reply.answer_message_id.is_(None))
            .values(answer_message_id=message.id, handled_at=func.coalesce(Reply.handled_at, now))
            .returning(Reply.id)
            .execution_options(synchronize_session=False)
        ).first()
        if claimed is None:
            raise InvalidInput(f"{who} has just been answered from another tab or click; see Outreach.")
        audit(
            uow,
            "reply.answered",
            actor=actor,
            target_type="reply",
            target_id=reply.id,
            detail={"message_id": message.id, "channel": channel},
        )
        uow.commit()
        message_id = message.id
    # the person wrote to us from this address: a "risky" check (catch-all, role account) does not hold it back
    job_id = send_now(actor=actor, message_ids=[message_id], include_risky=True)
    with UnitOfWork() as check:
        row = check.session.get(Message, message_id)
        status, error = (row.status, row.error) if row is not None else ("deleted", "")
    return AnswerOutcome(message_id=message_id, job_id=job_id, status=status, error=error)
