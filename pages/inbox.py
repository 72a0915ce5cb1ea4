"""Inbox: the answers to our outreach by lead — the reply without its quoted history, its class
(changeable) and one-click actions. Mail is read from the sending mailbox (IMAP) every two minutes."""

from __future__ import annotations

import urllib.parse

import streamlit as st

from core.replies import answer, inbox
from core.replies.models import LABEL_TITLES, REPLY_LABELS
from ui.common import current_actor, show_errors

ANSWER_STATES = {
    "approved": "waiting (the address check held it back)",
    "queued": "being sent",
    "sending": "being sent",
    "sent": "sent",
    "delivered": "delivered",
    "opened": "opened",
    "replied": "answered again",
    "bounced": "bounced",
    "failed": "not sent",
    "unknown": "sent, but the provider's answer was lost (see Outreach)",
}
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

# The answered reply leaves the open list, so its confirmation lives here, re-read on every run with the
# answer's current state (a second click's run may stop the first one right after the answer's commit).
# It is kept with its workspace: after a switch to another workspace it is not looked up there.
answered_in, answered_id = st.session_state.get("inbox_answered") or (None, None)
done = None
if answered_id is not None and answered_in == actor.workspace_id:
    with show_errors():
        done = inbox.get_reply_or_raise(actor=actor, reply_id=answered_id)
    if done is not None and done.answer_message_id is not None:
        state = ANSWER_STATES.get(done.answer_status, done.answer_status or "removed")
        note, dismiss = st.columns([5, 1])
        note.success(
            f"Answer to {done.from_name or done.from_address} {state} (message {done.answer_message_id})"
            + (f" — {done.answer_error}" if done.answer_error else "")
            + ("." if not open_only else ". The reply is dealt with; switch off the filter above to see it.")
        )
        if dismiss.button("Dismiss", key=f"inbox_answered_dismiss_{answered_id}"):
            del st.session_state["inbox_answered"]
            st.rerun()
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
        if reply.channel == "email":
            mailto = f"mailto:{reply.from_address}?subject={urllib.parse.quote(subject)}"
            buttons[-1].link_button("Mail program", mailto, help="Opens your mail program to answer from there.")
        if reply.answer_message_id is not None:
            state = ANSWER_STATES.get(reply.answer_status, reply.answer_status or "removed")
            st.caption(
                f"Answered from LeadScout: message {reply.answer_message_id}, {state}"
                + (f" — {reply.answer_error}" if reply.answer_error else "")
            )
        elif reply.lead_id is not None and st.toggle("Write an answer", key=f"inbox_write_{reply.id}"):
            with st.form(key=f"inbox_answer_{reply.id}"):
                text = st.text_area(
                    f"Your answer to {reply.from_address}",
                    key=f"inbox_answer_text_{reply.id}",
                    height=160,
                    placeholder="Thanks for getting back to me…",
                )
                how = f"“{subject}”, in their thread" if reply.channel == "email" else "a text message"
                st.caption(f"Goes out as {how}, through your sending settings, once.")
                if st.form_submit_button(
                    f"Send to {reply.from_address}", type="primary", key=f"inbox_send_answer_{reply.id}"
                ):
                    # Kept before the answer is made: reading or writing session state is where Streamlit stops a
                    # run for the next click's, so a run stopped after the answer's commit has kept it already.
                    # It is shown only once the reply has an answer.
                    st.session_state["inbox_answered"] = (actor.workspace_id, reply.id)
                    with show_errors():
                        sent = answer.answer_reply(actor=actor, reply_id=reply.id, body=text)
                        if sent.error:
                            st.error(sent.error)
                        else:
                            st.rerun()
