"""The steps editor of the Sequences page: name, stop statuses and one row per step (keyed by sequence id)."""

from __future__ import annotations

import streamlit as st

from core.actor import Actor
from core.outreach import service as outreach
from core.outreach.drafts import ai_drafts_available
from core.sequences import service as sequences
from core.sequences.models import DEFAULT_STOP_STATUSES, MAX_STEPS, STOP_CHOICES, SequenceView, StepInput
from ui.common import show_errors

AI = -1  # the template picker's "AI draft" choice


def render_editor(actor: Actor, current: SequenceView | None) -> int | None:
    """Edit (or create, when ``current`` is None) a sequence; returns the saved id after a save."""
    key = f"seq_{current.id if current else 'new'}"
    templates = outreach.list_templates(actor=actor)
    ai_label = "AI draft from the lead's evidence" + ("" if ai_drafts_available() else " (needs an OpenAI key)")
    name = st.text_input("Name", value=current.name if current else "", key=f"{key}_name")
    stop = st.multiselect(
        "A contact also leaves when the lead's status becomes",
        list(STOP_CHOICES),
        default=list(current.stop_statuses if current else DEFAULT_STOP_STATUSES),
        key=f"{key}_stop",
        help="A reply, a bounce, an unsubscribe or an SMS STOP always ends the sequence for that contact.",
    )
    count = st.number_input("Steps", 1, MAX_STEPS, value=len(current.steps) if current else 3, key=f"{key}_count")
    steps: list[StepInput] = []
    for position in range(1, int(count) + 1):
        saved = current.steps[position - 1] if current and position <= len(current.steps) else None
        c1, c2, c3, c4 = st.columns([1, 2, 1, 3])
        channel = c1.selectbox(
            f"Step {position}",
            ["email", "sms"],
            index=0 if not saved or saved.channel == "email" else 1,
            key=f"{key}_{position}_channel",
        )
        options = [t.id for t in templates if t.channel == channel] + [AI]
        names = {t.id: t.name for t in templates} | {AI: ai_label}
        chosen = saved.template_id if saved and saved.template_id in options else options[0]
        template_id = c2.selectbox(
            "Template",
            options,
            index=options.index(chosen),
            format_func=names.__getitem__,
            key=f"{key}_{position}_template",
        )
        delay = c3.number_input(
            "Working days after",
            0,
            60,
            value=saved.delay_days if saved else (0 if position == 1 else 3),
            key=f"{key}_{position}_delay",
        )
        subject = c4.text_input(
            "Own subject (empty: “Re:” in the same thread)",
            value=saved.subject if saved else "",
            key=f"{key}_{position}_subject",
            disabled=channel != "email",
        )
        steps.append(
            StepInput(
                channel=channel,
                template_id=None if template_id == AI else template_id,
                use_ai=template_id == AI,
                delay_days=int(delay),
                subject=subject,
            )
        )
    if st.button("Save sequence", type="primary", key=f"{key}_save"):
        with show_errors():
            return sequences.save_sequence(
                actor=actor,
                name=name,
                steps=steps,
                stop_statuses=tuple(stop),
                sequence_id=current.id if current else None,
            )
    return None
