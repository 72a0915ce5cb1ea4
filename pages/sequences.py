"""Sequences: steps of outreach that stop when the contact answers — the steps editor, pause and resume,
the contacts enrolled with their state (and why they left), and the funnel of each step."""

from __future__ import annotations

import streamlit as st

from core.sequences import enrolment, funnel
from core.sequences import service as sequences
from ui.common import current_actor, show_errors
from ui.sequences_editor import render_editor

NEW = 0
actor = current_actor()
st.title(":material/route: Sequences")
st.caption(
    "Each step is queued when its working-day delay has passed and goes out in the recipient's sending window."
    " A reply, bounce, unsubscribe or STOP ends the sequence for that contact, even with the next step queued."
)
found = {s.id: s for s in sequences.list_sequences(actor=actor)}
st.session_state.setdefault("sequences_open", next(iter(found), NEW))
sequence_id = st.selectbox(
    "Sequence",
    [*found, NEW],
    format_func=lambda i: "New sequence" if i == NEW else f"{found[i].name} ({found[i].status})",
    key="sequences_open",
)
current = found.get(sequence_id)

if current is not None:
    counts = " · ".join(f"{status}: {count}" for status, count in current.counts.items())
    top = st.columns([3, 1])
    top[0].markdown(f"**{current.name}** is **{current.status}** — contacts {counts}")
    paused = current.status == "paused"
    if actor.may("sequence.edit") and top[1].button(
        "Resume" if paused else "Pause", key=f"sequences_toggle_{current.id}", icon=":material/pause_circle:"
    ):
        with show_errors():
            sequences.set_sequence_status(actor=actor, sequence_id=current.id, status="active" if paused else "paused")
            st.rerun()

steps_tab, contacts_tab, funnel_tab = st.tabs(["Steps", "Contacts", "Funnel"])
with steps_tab:
    if actor.may("sequence.edit"):
        saved = render_editor(actor, current)
        if saved is not None:
            st.session_state["sequences_saved"] = saved
            st.rerun()
    elif current is not None:
        st.table([{"step": s.position, "channel": s.channel, "template": s.template_name} for s in current.steps])

if current is None:
    st.stop()
with contacts_tab:
    shown = st.selectbox("Show", ["all", "active", "paused", "finished", "left"], key=f"sequences_filter_{current.id}")
    rows = enrolment.list_enrollments(actor=actor, sequence_id=current.id, status=None if shown == "all" else shown)
    if not rows:
        st.info("Nobody here yet: select leads on the Leads page and use “Enrol in sequence”.")
    for row in rows[:100]:  # every widget is keyed by the enrolment's id, never by its position
        c1, c2, c3, c4 = st.columns([3, 3, 1, 1])
        nxt = f"step {row.next_position}" if row.next_position else "no further step"
        when = f" due {row.next_due_at:%Y-%m-%d %H:%M} UTC" if row.next_due_at else ""
        c1.markdown(f"**{row.lead_name}** — {row.status}")
        c2.caption(f"{row.reason}: {row.detail}" if row.status == "left" else f"{nxt}{when}")
        if row.status in ("active", "paused") and actor.may("sequence.enrol"):
            target = "paused" if row.status == "active" else "active"
            if c3.button("Pause" if target == "paused" else "Resume", key=f"sequences_enr_toggle_{row.id}"):
                with show_errors():
                    enrolment.set_enrollment_status(actor=actor, enrollment_id=row.id, status=target)
                    st.rerun()
            if c4.button("Remove", key=f"sequences_enr_remove_{row.id}"):
                with show_errors():
                    enrolment.remove_from_sequence(actor=actor, enrollment_id=row.id)
                    st.rerun()
    if len(rows) > 100:
        st.caption(f"Showing 100 of {len(rows)}; filter by state to see the others.")
with funnel_tab:
    table = funnel.funnel(actor=actor, sequence_id=current.id)
    st.dataframe(
        [
            {
                "step": r.position,
                "channel": r.channel,
                "sent": r.sent,
                "replied": r.replied,
                "bounced": r.bounced,
                "unsubscribed": r.unsubscribed,
            }
            for r in table
        ],
        hide_index=True,
        key=f"sequences_funnel_{current.id}",
    )
    st.caption("Replies, bounces and opt-outs count at the last step the contact was sent before they came.")
