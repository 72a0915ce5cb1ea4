"""Recording a phone number's SMS consent (source and time) on the Outreach page, keyed by the contact's id."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from core.actor import Actor
from core.outreach import consent
from ui.common import show_errors


def render_consent_form(actor: Actor, contact_id: int, number: str) -> None:
    """A small form: where and when the number's owner agreed to texts; saving re-reads the page."""
    with st.form(f"outreach_consent_{contact_id}"):
        st.markdown(f"**Record SMS consent for {number}**")
        source = st.text_input(
            "Where the consent comes from",
            placeholder="e.g. web form on 2026-03-01, signed order 4711",
            key=f"outreach_consent_source_{contact_id}",
        )
        now = datetime.now(UTC)
        day_col, time_col = st.columns(2)
        day = day_col.date_input("Given on (UTC)", value=now.date(), key=f"outreach_consent_day_{contact_id}")
        at = time_col.time_input(
            "At (UTC)", value=now.time().replace(second=0, microsecond=0), key=f"outreach_consent_time_{contact_id}"
        )
        if st.form_submit_button(f"Record consent for {number}"):
            with show_errors():
                view = consent.record_sms_consent(
                    actor=actor,
                    contact_id=contact_id,
                    given=True,
                    source=source,
                    at=datetime.combine(day, at, tzinfo=UTC),
                )
                st.session_state["outreach_consent_notice"] = (
                    f"SMS consent for {view.number} recorded ({view.source}, {view.given_at:%Y-%m-%d %H:%M} UTC)."
                )
                st.rerun()  # the send check is read again


def show_consent_notice() -> None:
    """The confirmation of the last recorded consent, once."""
    if notice := st.session_state.pop("outreach_consent_notice", None):
        st.success(notice)
