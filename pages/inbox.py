"""Inbox: the answers to our outreach by lead — the reply without its quoted history, its class
(changeable) and one-click actions. Mail is read from the sending mailbox (IMAP) every two minutes."""

from __future__ import annotations

import urllib.parse

import streamlit as st

from core.replies import inbox
from core.replies.models import LABEL_TITLES, REPLY_LABELS
from ui.common import current_actor, show_errors

CLASSIFIED_BY = {"rules": "Classified by rules", "llm": "Classified by the LLM", "user": "Set by a user"}

actor = current_actor()
st.title(":material/inbox: Inbox")

counts = inbox.count_open(actor=actor)
top = st.columns([3, 1])
top[0].caption(
    " · ".join(f"{LABEL_TITLES[label]}: {counts[label]}" for label in REPLY_LABELS if counts.get(label))
    or "Nothing waiting."
)
if top[1].button("Read the mailbox now", icon=":material/refresh:", key="inbox_read_now"):
    with show_errors():
        job_id = inbox.read_mailbox_now(actor=actor)
        st.toast(f"Reading the mailbox (job {job_id}); new replies appear here in a moment.")

shown = st.multiselect(
    "Classes",
    list(REPLY_LABELS),
    default=[label for label in REPLY_LABELS if label not in ("auto_reply", "bounce")],
    format_func=LABEL_TITLES.__getitem__,
    key="inbox_labels",
)
open_only = st.toggle("Only replies nobody has dealt with", value=True, key="inbox_open_only")
replies = inbox.list_replies(actor=actor, labels=tuple(shown), open_only=open_only)
if not replies:
    st.info("No replies here. Replies to your outreach appear once the mailbox has been read.")
    st.stop()

for reply in replies:  # every widget is keyed by the reply's id, never by its position
    who = reply.from_name or reply.from_address
    title = f"**{reply.lead_name or 'No lead'}** — {who} — {LABEL_TITLES[reply.label]}"
    with st.expander(f"{title} · {reply.received_at:%Y-%m-%d %H:%M}", expanded=reply.handled_at is None):
        st.caption(
            f"{reply.subject} · from {reply.from_address}"
            + (f" · answers “{reply.message_subject}”" if reply.message_subject else " · not matched to a message")
        )
        if reply.label == "bounce":
            st.warning(f"{reply.label_reason}. Status {reply.bounce_status or 'unknown'}.")
        st.text(reply.body or "(no text)")
        if reply.full_body != reply.body and st.toggle("Show the whole mail", key=f"inbox_full_{reply.id}"):
            st.text(reply.full_body)
        left, right = st.columns([1, 2])
        label = left.selectbox(
            "Class",
            list(REPLY_LABELS),
            index=REPLY_LABELS.index(reply.label),
            format_func=LABEL_TITLES.__getitem__,
            key=f"inbox_label_{reply.id}",
            help=f"{CLASSIFIED_BY.get(reply.label_source, '')}. Why: {reply.label_reason}",
        )
        if label != reply.label:
            with show_errors():
                inbox.set_reply_label(actor=actor, reply_id=reply.id, label=label)
                st.toast(f"Reply from {who} marked {LABEL_TITLES[label].lower()}")
                st.rerun()
        buttons = right.columns(len(inbox.ACTIONS) + 1)
        for column, (action, action_title) in zip(buttons, inbox.ACTION_TITLES.items(), strict=False):
            if column.button(action_title, key=f"inbox_{action}_{reply.id}", disabled=reply.handled_at is not None):
                with show_errors():
                    inbox.act_on_reply(actor=actor, reply_id=reply.id, action=action)
                    st.toast(f"{action_title}: {reply.lead_name or who}")
                    st.rerun()
        subject = reply.subject if reply.subject.lower().startswith("re:") else f"Re: {reply.subject}"
        mailto = f"mailto:{reply.from_address}?subject={urllib.parse.quote(subject)}"
        buttons[-1].link_button("Reply", mailto, help="Opens your mail program to answer from your mailbox.")
