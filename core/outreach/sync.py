"""Pull bounces, unsubscribes and spam reports from SendGrid and Mailgun into the suppression list.

The provider account serves the whole installation, so an address is suppressed in every
workspace that has it as a contact. Every page of every list is read: SendGrid pages by
``offset``, Mailgun by the cursor in ``paging.next``; both until a page comes back empty.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import Contact
from core.errors import InvalidInput, SendError
from core.outreach.suppression import add_suppression_row, normalise_address

SENDGRID_LISTS = (("bounces", "bounced"), ("unsubscribes", "unsubscribed"), ("spam_reports", "complaint"))
MAILGUN_LISTS = (("bounces", "bounced"), ("unsubscribes", "unsubscribed"), ("complaints", "complaint"))
SENDGRID_PAGE_SIZE = 500  # the most SendGrid returns per request
MAILGUN_PAGE_SIZE = 1000  # the most Mailgun returns per request
LOOKUP_CHUNK = 500  # addresses per contact lookup (well under every database's parameter limit)

log = logging.getLogger(__name__)


def _sendgrid_entries(settings: Settings) -> Iterator[tuple[str, str]]:
    # imported here: only the configured provider's SDK loads (SendGrid's alone takes 0.2 s)
    from python_http_client.exceptions import HTTPError

    from core.outreach.channels.sendgrid import SendGridChannel

    api = SendGridChannel.from_settings(settings).api
    for path, reason in SENDGRID_LISTS:
        offset = 0
        while True:
            try:
                response = getattr(api.suppression, path).get(
                    query_params={"limit": SENDGRID_PAGE_SIZE, "offset": offset}
                )
            except HTTPError as exc:
                raise SendError(f"SendGrid refused the {path} list ({exc.status_code}).") from exc
            except OSError as exc:
                raise SendError(f"SendGrid is unreachable: {exc}") from exc
            items = _json("SendGrid", path, response.body or b"[]")
            if not isinstance(items, list) or not items:
                break
            for item in items:
                yield str(item.get("email", "")), reason
            offset += len(items)


def _mailgun_entries(settings: Settings) -> Iterator[tuple[str, str]]:
    # imported here: only the configured provider's SDK loads (SendGrid's alone takes 0.2 s)
    import httpx

    from core.outreach.channels.mailgun import MailgunChannel

    channel = MailgunChannel.from_settings(settings)
    try:
        for path, reason in MAILGUN_LISTS:
            params: dict[str, str] = {"limit": str(MAILGUN_PAGE_SIZE)}
            while True:
                try:
                    response = channel.get(f"/v3/{channel.domain}/{path}", params=params)
                except httpx.HTTPError as exc:
                    raise SendError(f"Mailgun is unreachable: {exc}") from exc
                if response.status_code != 200:
                    raise SendError(f"Mailgun refused the {path} list ({response.status_code}).")
                page = _json("Mailgun", path, response.content)
                items = page.get("items") if isinstance(page, dict) else None
                if not items:
                    break
                for item in items:
                    yield str(item.get("address", "")), reason
                # Only the cursor is taken from the link: the request stays on the configured base URL.
                following = dict(parse_qsl(urlsplit(str((page.get("paging") or {}).get("next") or "")).query))
                if not following or following == params:
                    break
                params = following
    finally:
        channel.close()


def _json(provider: str, path: str, body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise SendError(f"{provider} answered the {path} list with something that is not JSON.") from exc


def _workspaces_by_address(session: Session, addresses: list[str]) -> dict[str, set[int]]:
    """For each address, the workspaces that have it as an email contact."""
    found: dict[str, set[int]] = {}
    for start in range(0, len(addresses), LOOKUP_CHUNK):
        rows = session.execute(
            select(Contact.normalised_value, Contact.workspace_id)
            .distinct()
            .where(Contact.kind == "email", Contact.normalised_value.in_(addresses[start : start + LOOKUP_CHUNK]))
        )
        for address, workspace_id in rows:
            found.setdefault(address, set()).add(workspace_id)
    return found


def _add_entries(session: Session, provider: str, entries: Iterable[tuple[str, str]]) -> int:
    """Suppress each listed address in every workspace that knows it; returns how many rows are new."""

    reasons: dict[str, str] = {}
    unusable = 0
    for address, reason in entries:
        try:
            reasons.setdefault(normalise_address("email", address), reason)  # the first list naming it wins
        except InvalidInput:
            unusable += 1
    if unusable:
        log.warning("%s listed %d entries that are not email addresses; skipped them", provider, unusable)
    added = 0
    for address, workspace_ids in _workspaces_by_address(session, sorted(reasons)).items():
        for workspace_id in sorted(workspace_ids):
            added += add_suppression_row(
                session,
                workspace_id=workspace_id,
                channel="email",
                address=address,
                reason=reasons[address],
                source=f"{provider}:sync",
            )
    return added


def sync_suppressions(*, settings: Settings | None = None, uow: UnitOfWork | None = None) -> dict[str, int]:
    """Fetch every configured provider's suppression lists; returns new suppressions per provider."""
    s = settings or get_settings()
    sources = []
    if s.sendgrid_enabled:
        sources.append(("sendgrid", list(_sendgrid_entries(s))))
    if s.mailgun_enabled:
        sources.append(("mailgun", list(_mailgun_entries(s))))
    added: dict[str, int] = {}
    uow = uow or UnitOfWork()
    with uow:
        for provider, entries in sources:
            added[provider] = _add_entries(uow.session, provider, entries)
        uow.commit()
    return added
