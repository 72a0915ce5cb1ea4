"""Pull bounces, unsubscribes and spam reports from SendGrid and Mailgun into the suppression list.

The provider account serves the whole installation, so an address is suppressed in every
workspace that has it as a contact.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import select

from core.config import Settings, get_settings
from core.db import UnitOfWork
from core.db.models import Contact
from core.errors import SendError

SENDGRID_LISTS = (("bounces", "bounced"), ("unsubscribes", "unsubscribed"), ("spam_reports", "complaint"))
MAILGUN_LISTS = (("bounces", "bounced"), ("unsubscribes", "unsubscribed"), ("complaints", "complaint"))


def _sendgrid_entries(settings: Settings) -> Iterable[tuple[str, str]]:
    from python_http_client.exceptions import HTTPError

    from core.outreach.channels.sendgrid import SendGridChannel

    api = SendGridChannel.from_settings(settings).api
    for path, reason in SENDGRID_LISTS:
        try:
            response = getattr(api.suppression, path).get(query_params={"limit": 500})
        except HTTPError as exc:
            raise SendError(f"SendGrid refused the {path} list ({exc.status_code}).") from exc
        except OSError as exc:
            raise SendError(f"SendGrid is unreachable: {exc}") from exc
        for item in json.loads(response.body or b"[]"):
            yield str(item.get("email", "")), reason


def _mailgun_entries(settings: Settings) -> Iterable[tuple[str, str]]:
    import httpx

    from core.outreach.channels.mailgun import MailgunChannel

    channel = MailgunChannel.from_settings(settings)
    try:
        for path, reason in MAILGUN_LISTS:
            try:
                response = channel.get(f"/v3/{channel.domain}/{path}", params={"limit": "1000"})
            except httpx.HTTPError as exc:
                raise SendError(f"Mailgun is unreachable: {exc}") from exc
            if response.status_code != 200:
                raise SendError(f"Mailgun refused the {path} list ({response.status_code}).")
            for item in response.json().get("items", []):
                yield str(item.get("address", "")), reason
    finally:
        channel.close()


def sync_suppressions(*, settings: Settings | None = None, uow: UnitOfWork | None = None) -> dict[str, int]:
    """Fetch every configured provider's suppression lists; returns new suppressions per provider."""
    from core.outreach.suppression import add_suppression_row

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
            added[provider] = 0
            for address, reason in entries:
                if "@" not in address:
                    continue
                workspaces = set(uow.session.scalars(select(Contact.workspace_id).where(
                    Contact.kind == "email", Contact.normalised_value == address.strip().lower())))
                for workspace_id in workspaces:
                    added[provider] += add_suppression_row(uow.session, workspace_id=workspace_id, channel="email",
                                                           address=address, reason=reason, source=f"{provider}:sync")
        uow.commit()
    return added
