"""Which message (and so which workspace, lead and contact) an incoming mail answers.

Strongest first: our Message-ID in ``In-Reply-To``/``References`` (or, for a bounce, in the returned
headers); then the bounced or sending address among the contacts we wrote to; then the workspace
whose From address the mail was sent to; then the only workspace there is. Mail that matches
nothing keeps an empty workspace and is counted for the operator, never dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


def _by_our_ids(session: Session, ids: tuple[str, ...], how: str) -> Match | None:
    for header_id in ids:
        found = _OUR_ID.match(header_id)
        if not found:
            continue
        workspace_id, message_id = int(found.group(1)), int(found.group(2))
        message = session.get(Message, message_id)
        if message is not None and message.workspace_id == workspace_id:
            return Match(workspace_id, message.id, message.lead_id, message.contact_id, how)
    return None


def _by_address(session: Session, address: str, how: str, workspace_id: int | None = None) -> Match | None:
    """The latest message we sent to this address (in one workspace when given)."""
    if not address:
        return None
    query = (
        select(Message)
        .join(Contact, Contact.id == Message.contact_id)
        .where(Contact.kind == "email", Contact.normalised_value == address.lower(), Message.status.in_(SENT_STATUSES))
        .order_by(Message.sent_at.desc().nulls_last(), Message.id.desc())
        .limit(1)
    )
    if workspace_id is not None:
        query = query.where(Message.workspace_id == workspace_id)
    message = session.scalar(query)
    if message is None:
        return None
    return Match(message.workspace_id, message.id, message.lead_id, message.contact_id, how)


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


def prefetch(session: Session, incomings: list[Incoming]) -> None:
    """Load every message our ids in a chunk's headers name with one query, so matching each mail finds its
    message in the session instead of asking the database again."""
    ids = {
        int(found.group(2))
        for incoming in incomings
        for header_id in (incoming.in_reply_to, *incoming.references, *incoming.original_ids)
        if (found := _OUR_ID.match(header_id))
    }
    if ids:  # held in the session's info: its identity map keeps only weak references
        session.info["replies.prefetched"] = list(session.scalars(select(Message).where(Message.id.in_(sorted(ids)))))


def _contact_in(session: Session, workspace_id: int, address: str) -> tuple[int | None, int | None]:
    contact = session.scalar(
        select(Contact)
        .where(Contact.workspace_id == workspace_id, Contact.kind == "email", Contact.normalised_value == address)
        .order_by(Contact.id.desc())
        .limit(1)
    )
    return (contact.lead_id, contact.id) if contact is not None else (None, None)


def match_incoming(session: Session, incoming: Incoming, *, bounce_recipient: str = "") -> Match:
    """The best match for one mail (see the module's docstring for the order)."""
    by_header = _by_our_ids(session, (incoming.in_reply_to, *incoming.references), "header")
    if by_header is not None:
        return by_header
    if bounce_recipient or incoming.original_ids or incoming.original_message_refs:
        returned = _by_our_ids(session, incoming.original_ids, "bounce")
        if returned is not None:
            return returned
        returned = _by_address(session, bounce_recipient, "bounce")
        if returned is not None:
            return returned
    workspace_id = _workspace_by_recipient(session, incoming.to_addresses)
    by_sender = _by_address(session, incoming.from_address, "sender", workspace_id)
    if by_sender is not None:
        return by_sender
    workspaces = _from_addresses(session)
    if workspace_id is None and len(workspaces) == 1:
        return _in_workspace(session, workspaces[0][0], incoming, "single")
    if workspace_id is not None:
        return _in_workspace(session, workspace_id, incoming, "to")
    return Match()


def _in_workspace(session: Session, workspace_id: int | None, incoming: Incoming, how: str) -> Match:
    if workspace_id is None:
        return Match()
    lead_id, contact_id = _contact_in(session, workspace_id, incoming.from_address)
    return Match(workspace_id=workspace_id, lead_id=lead_id, contact_id=contact_id, matched_by=how)
