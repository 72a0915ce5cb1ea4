"""The queued messages on the Outreach page: when the scheduled sender will send each one, and why it waits."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import streamlit as st

from core.actor import Actor
from core.outreach import timing
from core.zones import zone_named


def render_queue(actor: Actor, timezone: str) -> None:
    """A table of the workspace's queued messages with the time each goes, in the workspace's time zone."""
    queued = timing.queued_schedule(actor=actor)
    st.subheader(f"Queued ({len(queued)})")
    if not queued:
        st.caption("Nothing is waiting. Messages held for the sending window or a daily cap are listed here.")
        return
    zone = zone_named(timezone or "UTC") or ZoneInfo("UTC")
    st.caption(
        "The scheduled sender checks every minute and sends each message once its time has come "
        f"(times in {timezone or 'UTC'}); nothing is sent twice, and never to an opted-out contact."
    )
    st.dataframe(
        [
            {
                "id": q.message_id,
                "lead": q.lead_name,
                "to": q.contact,
                "channel": q.channel,
                "goes at": q.goes_at.astimezone(zone).strftime("%a %Y-%m-%d %H:%M") if q.goes_at else "not scheduled",
                "why": q.why,
            }
            for q in queued
        ],
        hide_index=True,
        use_container_width=True,
        key="outreach_queue_table",
    )
