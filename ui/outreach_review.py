"""Reviewing one draft on the Outreach page: preview as sent, edit with the evidence re-check, a test to oneself."""

from __future__ import annotations

import hashlib

import streamlit as st

from core.actor import Actor
from core.outreach import draft_review, service
from core.outreach.models import MessageView
from ui.common import show_errors


def _pick(messages: list[MessageView]) -> int | None:
    """The draft to review, by message id; the picker is keyed by the ids it offers, so it never holds a stale one."""
    labels = {m.id: f"#{m.id} {m.lead_name} · {m.status} · {m.subject or m.body[:40]}" for m in messages}
    key = hashlib.sha256(",".join(map(str, labels)).encode()).hexdigest()[:16]
    return st.selectbox(
        "Review and edit a draft",
        list(labels),
        index=None,
        format_func=lambda i: labels.get(i, f"#{i}"),
        placeholder="Choose a draft to preview, edit or test",
        key=f"outreach_review_pick_{key}",
    )


def render_draft_review(actor: Actor, messages: list[MessageView]) -> None:
    """Preview, editor and test send for one draft or approved message; every widget is keyed by its id."""
    if notice := st.session_state.pop("outreach_review_notice", None):
        (st.success if notice[0] else st.warning)(notice[1])
    message_id = _pick(messages)
    if message_id is None:
        return
    with show_errors():
        view = draft_review.preview_draft(actor=actor, message_id=message_id)
        st.markdown(f"**#{view.message_id} to {view.lead_name}** · {view.channel} to `{view.to}` from `{view.sender}`")
        if view.flags:
            st.error(
                "Not approvable yet — no evidence for: "
                + " | ".join(f"“{sentence}” ({reason})" for sentence, reason in view.flags)
                + ". Rewrite or remove these sentences and save."
            )
        else:
            st.caption("No claim without evidence: this draft can be approved.")
        with st.expander("Preview as the recipient gets it", expanded=True):
            st.text((f"Subject: {view.subject}\n\n" if view.channel == "email" else "") + view.sent_body)
        with st.form(f"outreach_edit_{view.message_id}"):
            subject = (
                st.text_input("Subject", value=view.subject, key=f"outreach_edit_subject_{view.message_id}")
                if view.channel == "email"
                else ""
            )
            body = st.text_area("Message", value=view.body, height=220, key=f"outreach_edit_body_{view.message_id}")
            if st.form_submit_button(f"Save #{view.message_id} and re-check"):
                left = service.edit_draft(actor=actor, message_id=view.message_id, subject=subject, body=body)
                st.session_state["outreach_review_notice"] = (
                    (False, f"Saved #{view.message_id}; still no evidence for: " + " | ".join(left))
                    if left
                    else (True, f"Saved #{view.message_id}: the evidence check passed, it can be approved.")
                )
                st.rerun()  # the draft list, its flags and the approve picker are read again
        if st.button(f"Send a test of #{view.message_id} to me", key=f"outreach_test_{view.message_id}"):
            sent = draft_review.send_test_to_me(actor=actor, message_id=view.message_id)
            if sent.delivered:
                st.success(f"Test of #{view.message_id} sent to {sent.to} through {sent.provider}.")
            else:
                st.info(
                    f"Test of #{view.message_id} for {sent.to} recorded only: email goes to the outbox "
                    "(configure SMTP, SendGrid or Mailgun to receive tests)."
                )
