"""The leads page's banner for scores from an older rubric, with its "Re-score now" button and progress."""

from __future__ import annotations

import streamlit as st

from core import background
from core.actor import Actor
from core.leads.query import LeadFilter
from core.scoring import outdated
from ui.common import show_errors


def render_outdated_banner(actor: Actor, flt: LeadFilter) -> None:
    """Say how many leads in the filter carry a score from an older rubric (or none yet) and offer a re-score."""
    if notice := st.session_state.pop("leads_rescore_notice", None):
        st.success(notice)
    found = outdated.count_outdated_scores(actor=actor, flt=flt)
    if not found.total:
        return
    parts = [
        f"{found.old_rubric:,} scored with an older rubric" if found.old_rubric else "",
        f"{found.unscored:,} not scored yet" if found.unscored else "",
    ]
    st.warning(
        f"**{found.total:,} {'lead' if found.total == 1 else 'leads'} in this view "
        f"{'has' if found.total == 1 else 'have'} an out-of-date score** ({' and '.join(p for p in parts if p)}): "
        "their score and place in the table may change once re-scored with the current rubric.",
        icon=":material/history:",
    )
    if found.running_job_ids:
        _rescore_progress(actor, found.running_job_ids)
    if found.campaign_ids and st.button("Re-score now", key="leads_rescore_outdated", icon=":material/refresh:"):
        with show_errors():
            job_ids = outdated.rescore_outdated(actor=actor, flt=flt)
            st.session_state["leads_rescore_notice"] = (
                f"Re-scoring in job {', '.join(map(str, job_ids))}."
                if job_ids
                else "A re-score of these leads is already under way."
            )
            st.rerun()


@st.fragment(run_every=3)
def _rescore_progress(actor: Actor, job_ids: tuple[int, ...]) -> None:
    views = [
        view for view in (background.get_job(actor=actor, job_id=job_id) for job_id in job_ids) if view is not None
    ]
    if not any(view.is_active for view in views):
        st.rerun()  # finished: count again and redraw the table with the new scores
    for view in views:
        st.progress(view.fraction or 0.0, text=f"Re-score job {view.id}: {view.message or view.status}")
        if view.is_active and st.button("Cancel re-score", key=f"leads_rescore_cancel_{view.id}"):
            with show_errors():
                background.cancel(actor=actor, job_id=view.id)
