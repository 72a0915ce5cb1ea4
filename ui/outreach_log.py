"""The 'Message log' tab of the Outreach page: filters, one lead's history, a message's details and manual marks."""

from __future__ import annotations

import streamlit as st

from core.actor import Actor
from core.outreach import message_log
from core.outreach.models import MESSAGE_STATUSES, MessageView
from ui.common import show_errors

STATUSES = ["", *MESSAGE_STATUSES]


def _pick_lead(actor: Actor) -> int | None:
    """The lead filter; a lead id handed over in ``outreach_log_lead_id`` (from a lead's page) picks it."""
    incoming = st.session_state.pop("outreach_log_lead_id", None)
    leads = dict(message_log.leads_with_messages(actor=actor, include=incoming))
    if incoming is not None:
        st.session_state["outreach_log_lead"] = incoming if incoming in leads else None
        if incoming not in leads:
            st.warning(f"Lead #{incoming} is not in this workspace, so it has no messages here.")
    if st.session_state.setdefault("outreach_log_lead", None) not in leads:
        st.session_state["outreach_log_lead"] = None  # e.g. after switching workspace
    return st.selectbox(
        "Lead",
        [None, *leads],
        format_func=lambda i: "All leads" if i is None else f"{leads[i]} (#{i})",
        key="outreach_log_lead",
        help="Every message to one lead, on every channel and step, with its status history.",
    )


def _lead_history(actor: Actor, lead_id: int) -> list[MessageView]:
    """Each message to the lead, oldest first, with its status changes in time order."""
    history = message_log.lead_history(actor=actor, lead_id=lead_id)
    if not history:
        st.info("No messages to this lead yet.")
    for item in history:
        m = item.message
        st.markdown(
            f"**#{m.id} · step {m.step} · {m.channel} to {m.contact}** — now *{m.status}*"
            + (f" · “{m.subject}”" if m.subject else "")
        )
        st.table(
            [
                {"status": "draft", "detail": "created", "at": m.created_at},
                *({"status": e.status, "detail": e.detail, "at": e.created_at} for e in item.events),
            ]
        )
    return [item.message for item in history]


def _filtered_messages(actor: Actor, *, disabled: bool) -> list[MessageView]:
    """Status, channel and text filters over the whole workspace, and the matching messages as a table."""
    col1, col2, col3 = st.columns(3)
    status = col1.selectbox("Status", STATUSES, key="outreach_log_status", disabled=disabled)
    channel = col2.selectbox("Channel", ["", "email", "sms"], key="outreach_log_channel", disabled=disabled)
    search = col3.text_input("Search", key="outreach_log_search", disabled=disabled)
    if disabled:
        return []
    messages = message_log.list_messages(actor=actor, status=status or None, channel=channel or None, search=search)
    st.dataframe(
        [
            {
                "id": m.id,
                "lead": m.lead_name,
                "to": m.contact,
                "channel": m.channel,
                "status": m.status,
                "provider": m.provider,
                "error": m.error,
                "sent": m.sent_at,
            }
            for m in messages
        ],
        hide_index=True,
        use_container_width=True,
    )
    return messages


def _details(actor: Actor, messages: list[MessageView]) -> None:
    """One message's text and history, its .eml, and the marks a user may set by hand."""
    selected = st.selectbox(
        "Details",
        messages,
        format_func=lambda m: f"#{m.id} {m.lead_name} ({m.status})",
        index=None,
        key="outreach_log_pick",
    )
    if not selected:
        return
    st.text(f"{selected.subject}\n\n{selected.body}")
    st.table(
        [
            {"status": e.status, "detail": e.detail, "at": e.created_at}
            for e in message_log.message_history(actor=actor, message_id=selected.id)
        ]
    )
    with show_errors():
        if selected.channel == "email":
            st.download_button(
                "Download .eml",
                message_log.export_eml(actor=actor, message_id=selected.id),
                file_name=f"message-{selected.id}.eml",
                key="outreach_eml",
            )
        if selected.status in ("sent", "delivered", "opened") and st.button("Mark replied", key="outreach_replied"):
            message_log.mark_replied(actor=actor, message_id=selected.id)
            st.success("Marked replied; the lead is now 'replied'.")
        if selected.status == "unknown":
            st.warning("The provider may have this message. Check there, then settle it; it is never resent.")
            outcome = st.radio("It was", ["sent", "failed"], horizontal=True, key="outreach_unknown_outcome")
            if st.button("Settle", key="outreach_settle"):
                message_log.resolve_unknown(actor=actor, message_id=selected.id, outcome=outcome)
        if selected.status == "failed" and st.button("Queue again", key="outreach_requeue"):
            message_log.requeue_failed(actor=actor, message_id=selected.id)


def render_message_log(actor: Actor) -> None:
    """The message log: all messages filtered, or every message to one lead with its history."""
    lead_id = _pick_lead(actor)
    messages = _filtered_messages(actor, disabled=lead_id is not None)
    if lead_id is not None:
        st.caption("Showing every message to this lead; choose “All leads” to filter by status, channel or text.")
        messages = _lead_history(actor, lead_id)
    _details(actor, messages)
