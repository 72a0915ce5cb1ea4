"""A workspace's outreach settings: postal address, time zone, consent rule, daily caps, sending window."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.actor import Actor
from core.audit import audit
from core.db import UnitOfWork
from core.db.models import Workspace
from core.errors import InvalidInput
from core.outreach import templates
from core.outreach.models import CHANNELS

OUTREACH_SETTING_KEYS = (
    "postal_address",
    "timezone",
    "sms_consent_required",
    "daily_caps",
    "send_window",
    "send_weekdays",
    "from_email",
    "from_name",
)
MAX_DAILY_CAP = 100_000  # per sender and day; far above what one mailbox or number should send


def get_outreach_settings(*, actor: Actor, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """The workspace's outreach settings (postal address, time zone, consent rule, caps, window)."""
    actor.require_permission("outreach.view")
    uow = uow or UnitOfWork()
    with uow:
        workspace = uow.session.get(Workspace, actor.workspace_id)
        assert workspace is not None
        return {key: workspace.settings.get(key) for key in OUTREACH_SETTING_KEYS}


def _checked_daily_caps(caps: Any) -> dict[str, int]:
    """Daily caps as {channel: whole number from 0 to MAX_DAILY_CAP}; 0 (or empty) means no cap."""
    if not isinstance(caps, Mapping):
        raise InvalidInput("Daily caps are given per channel, e.g. {'email': 200, 'sms': 100}.")
    checked: dict[str, int] = {}
    for channel, value in caps.items():
        if channel not in CHANNELS:
            raise InvalidInput(f"There is no daily cap for '{channel}'; caps exist for email and sms.")
        number = 0 if value is None or value == "" else value
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= MAX_DAILY_CAP:
            raise InvalidInput(
                f"The daily {'SMS' if channel == 'sms' else 'email'} cap must be a whole number from 0 "
                f"(no cap) to {MAX_DAILY_CAP:,}, not '{str(value)[:20]}': enter how many messages one "
                "sender may send per day."
            )
        checked[channel] = number
    return checked


def update_outreach_settings(*, actor: Actor, uow: UnitOfWork | None = None, **changes: Any) -> None:
    """Change outreach settings (admins, audited); ``daily_caps`` naming one channel keeps the other's cap."""
    actor.require_permission("outreach.settings")
    unknown = set(changes) - set(OUTREACH_SETTING_KEYS)
    if unknown:
        raise InvalidInput(f"Unknown outreach settings: {', '.join(sorted(unknown))}.")
    for key in ("from_email", "from_name"):
        if changes.get(key):
            templates.refuse_line_breaks(key.replace("_", " "), str(changes[key]))
    if "send_window" in changes:
        window = list(changes["send_window"] or [])
        if len(window) != 2 or not 0 <= int(window[0]) < int(window[1]) <= 24:
            raise InvalidInput("The sending window needs a start hour before its end hour, between 0 and 24.")
    if "send_weekdays" in changes:
        days = list(changes["send_weekdays"] or [])
        if any(int(d) not in range(7) for d in days):
            raise InvalidInput("Sending days are numbered 0 (Monday) to 6 (Sunday).")
    if changes.get("timezone"):
        try:
            ZoneInfo(str(changes["timezone"]))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(f"'{changes['timezone']}' is not a time zone (e.g. Europe/Berlin).") from exc
    caps = _checked_daily_caps(changes["daily_caps"]) if "daily_caps" in changes else None
    uow = uow or UnitOfWork()
    with uow:
        workspace = uow.session.get(Workspace, actor.workspace_id)
        assert workspace is not None
        if caps is not None:
            changes["daily_caps"] = {**(workspace.settings.get("daily_caps") or {}), **caps}
        workspace.settings = {**workspace.settings, **changes}
        audit(uow, "outreach.settings_changed", actor=actor, detail={"keys": sorted(changes)})
        uow.commit()
