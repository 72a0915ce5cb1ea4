"""The leads table's "Enrol in sequence": who would be enrolled and who skipped (and why), then one click."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from core.actor import Actor
from core.sequences import enrolment
from core.sequences import service as sequences
from ui import leads_select as selection
from ui.common import show_errors


def render_enrol(actor: Actor, lead_ids: list[int], on_done: Callable[[str], None]) -> None:
    """A sequence picker, the preview of the selection's enrolment, and the confirming button."""
    if not actor.may("sequence.enrol"):
        return
    available = {s.id: s.name for s in sequences.list_sequences(actor=actor) if s.steps}
    if not available:
        st.caption("Enrol in sequence: create a sequence on the Sequences page first.")
        return
    c1, c2 = st.columns([2, 3])
    sequence_id = c1.selectbox(
        "Enrol in sequence", list(available), format_func=available.__getitem__, key="leads_enrol_sequence"
    )
    with show_errors():
        preview = enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=lead_ids, dry_run=True)
        why = "; ".join(f"{count} {reason}" for reason, count in preview.skipped_by_reason().items())
        c2.caption(
            f"{len(preview.enrolled)} will be enrolled in **{available[sequence_id]}**, "
            f"{len(preview.skipped)} skipped" + (f": {why}." if why else ".")
        )
        go = c2.button(
            f"Enrol {len(preview.enrolled)}",
            key=selection.confirm_key(f"leads_enrol_go_{sequence_id}"),
            disabled=not preview.enrolled,
        )
        if go:
            done = enrolment.enrol(actor=actor, sequence_id=sequence_id, lead_ids=lead_ids)
            on_done(
                f"Enrolled {len(done.enrolled)} in {available[sequence_id]}; skipped {len(done.skipped)}"
                + (f" ({why})" if done.skipped else "")
                + "."
            )
