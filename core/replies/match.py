"""Which message (and so which workspace, lead and contact) an incoming mail answers.

Strongest first: our Message-ID in ``In-Reply-To``/``References`` (or, for a bounce, in the returned
headers); then the bounced or sending address among the contacts we wrote to; then the workspace
whose From address the mail was sent to; then the only workspace there is. Mail that matches
nothing keeps an empty workspace and is counted for the operator, never dropped.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from itertools import chain

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Contact, Message, Workspace
from core.replies.models import Incoming

_OUR_ID = re.compile(r"^<leadscout\.(\d+)\.(\d+)@[^>]+>$")
SENT_STATUSES = ("sent", "delivered", "opened", "replied", "bounced", "unknown")


@dataclass(frozen=True)
class Match:
    """What an incoming mail was matched to; every field empty when nothing matched."""

    workspace_id: int | None = None
    message_id: int | None = None
    lead_id: int | None = None
    contact_id: int | None = None
    matched_by: str = ""


def _by_our_ids(messages: dict[int, Message], ids: tuple[str, ...], how: str) -> Match | None:
    for header_id in ids:
        found = _OUR_ID.match(header_id)
        if not found:
            continue
        message = messages.get(int(found.group(2)))
        if message is not None and message.workspace_id == int(found.group(1)):
            return Match(message.workspace_id, message.id, message.lead_id, message.contact_id, how)
    return None


def _from_addresses(session: Session) -> list[tuple[int, str]]:
    """(workspace id, its From address lowered) of every workspace, read once per session: a fetched chunk of
    mail is stored in one session, and every mail that our headers do not match asks for them."""
    cached = session.info.get("replies.from_addresses")
    if cached is None:
        cached = [
            (workspace_id, str((settings or {}).get("from_email") or "").lower())
            for workspace_id, settings in session.execute(
                select(Workspace.id, Workspace.settings).order_by(Workspace.id)
            )
        ]
        session.info["replies.from_addresses"] = cached
    return cached  # type: ignore[no-any-return]


def _workspace_by_recipient(session: Session, recipients: tuple[str, ...]) -> int | None:
    wanted = {address.lower() for address in recipients}
    if not wanted:
        return None
    owners = [workspace_id for workspace_id, from_email in _from_addresses(session) if from_email in wanted]
    return owners[0] if len(owners) == 1 else None


def _our_ids(incoming: Incoming) -> tuple[str, ...]:
    return (incoming.in_reply_to, *incoming.references, *incoming.original_ids)


class _Known:
    """What a batch of mails can be matched to, read with a few queries for the whole batch: the messages
    our ids name, then, for the mails those do not match, the messages sent to their addresses (latest
    first, as ``ORDER BY sent_at DESC NULLS LAST, id DESC``) and the contacts holding them (newest first)."""

    def __init__(self, session: Session, incomings: list[tuple[Incoming, str]]) -> None:
        ids = sorted(
            {
                int(found.group(2))
                for incoming, _ in incomings
                for i in _our_ids(incoming)
                if (found := _OUR_ID.match(i))
            }
        )
        self.messages = {m.id: m for m in session.scalars(select(Message).where(Message.id.in_(ids)))} if ids else {}
        addresses = sorted(
            {
                address.lower()
                for incoming, bounce_recipient in incomings
                if _by_our_ids(self.messages, (incoming.in_reply_to, *incoming.references), "header") is None
                for address in (incoming.from_address, bounce_recipient)
                if address
            }
        )
        self.sent_to: dict[str, list[Message]] = defaultdict(list)
        self.contacts: dict[tuple[int, str], tuple[int, int]] = {}
        if addresses:
            self._read_addresses(session, addresses)
        # held for the session's life (its identity map keeps weak references): the effects find them there
        session.info.setdefault("replies.held", []).extend([*self.messages.values(), *chain(*self.sent_to.values())])

    def _read_addresses(self, session: Session, addresses: list[str]) -> None:
        for message, address in session.execute(
            select(Message, Contact.normalised_value)
            .join(Contact, Contact.id == Message.contact_id)
            .where(Contact.kind == "email", Contact.normalised_value.in_(addresses), Message.status.in_(SENT_STATUSES))
        ):
            self.sent_to[address].append(message)
        for messages in self.sent_to.values():
            dated = sorted(
                (m for m in messages if m.sent_at is not None), key=lambda m: (m.sent_at, m.id), reverse=True
            )
            messages[:] = dated + sorted((m for m in messages if m.sent_at is None), key=lambda m: m.id, reverse=True)
        for workspace_id, address, lead_id, contact_id in session.execute(
            select(Contact.workspace_id, Contact.normalised_value, Contact.lead_id, Contact.id)
            .where(Contact.kind == "email", Contact.normalised_value.in_(addresses))
            .order_by(Contact.id.desc())
        ):
            self.contacts.setdefault((workspace_id, address), (lead_id, contact_id))

    def by_address(self, address: str, how: str, workspace_id: int | None = None) -> Match | None:
        """The latest message we sent to this address (in one workspace when given)."""
        for message in self.sent_to.get(address.lower(), ()) if address else ():
            if workspace_id is None or message.workspace_id == workspace_id:
                return Match(message.workspace_id, message.id, message.lead_id, message.contact_id, how)
        return None

    def in_workspace(self, workspace_id: int, address: str, how: str) -> Match:
        lead_id, contact_id = self.contacts.get((workspace_id, address), (None, None))
        return Match(workspace_id=workspace_id, lead_id=lead_id, contact_id=contact_id, matched_by=how)


def match_all(session: Session, incomings: list[tuple[Incoming, str]]) -> list[Match]:
    """The best match for each ``(mail, bounced recipient)``, with a handful of queries for the whole batch."""
    known = _Known(session, incomings)
    return [_match(session, known, incoming, bounce_recipient) for incoming, bounce_recipient in incomings]


def _match(session: Session, known: _Known, incoming: Incoming, bounce_recipient: str) -> Match:
    by_header = _by_our_ids(known.messages, (incoming.in_reply_to, *incoming.references), "header")
    if by_header is not None:
        return by_header
    if bounce_recipient or incoming.original_ids or incoming.original_message_refs:
        returned = _by_our_ids(known.messages, incoming.original_ids, "bounce") or known.by_address(
            bounce_recipient, "bounce"
        )
        if returned is not None:
            return returned
    workspace_id = _workspace_by_recipient(session, incoming.to_addresses)
    by_sender = known.by_address(incoming.from_address, "sender", workspace_id)
    if by_sender is not None:
        return by_sender
    workspaces = _from_addresses(session)
    if workspace_id is None and len(workspaces) == 1:
        workspace_id, how = workspaces[0][0], "single"
    else:
        how = "to"
    return Match() if workspace_id is None else known.in_workspace(workspace_id, incoming.from_address, how)
