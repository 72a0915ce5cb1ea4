"""The 'Draft with AI' part of the Outreach page: start the drafting job and follow its progress."""

from __future__ import annotations

import streamlit as st

from core import background
from core.actor import Actor
from core.outreach import drafts
from ui.common import show_errors


@st.fragment(run_every=2)
def _poll_drafting(actor: Actor, job_id: int) -> None:
    job = background.get_job(actor=actor, job_id=job_id)
    if job is None:
        return
    if job.is_active:
        st.progress(job.fraction or 0.0, text=job.message or "Drafting…")
        if st.button("Cancel drafting", key="outreach_ai_cancel"):
            background.cancel(actor=actor, job_id=job_id)
    elif job.status == "succeeded" and job.result:
        if st.session_state.get("outreach_ai_refreshed") != job_id:
            st.session_state["outreach_ai_refreshed"] = job_id
            st.rerun(scope="app")  # show the new drafts in the approval list below
        st.success(
            f"{job.result.get('created', 0)} AI drafts created; review them below (flagged sentences must be "
            "edited before approval)."
        )
        for reason in job.result.get("skipped") or []:
            st.info(f"Skipped {reason}")
    else:
        st.error(f"Drafting {job.status}: {job.error or job.message}")


def render_ai_drafting(actor: Actor, lead_ids: list[int]) -> None:
    """Channel choice, the start button, and the running job's progress."""
    if not drafts.ai_drafts_available():
        st.info("AI drafts need an OpenAI key (Settings → providers). Without one, drafts come from templates only.")
        return
    st.caption(
        "One draft per lead from the campaign's angle and the lead's evidence; every claim about the prospect "
        "must cite evidence, or the sentence is flagged and blocks approval until edited."
    )
    channel = st.radio("Channel", ["email", "sms"], horizontal=True, key="outreach_ai_channel")
    if st.button("Draft with AI", type="primary", disabled=not lead_ids, key="outreach_ai_start"):
        with show_errors():
            st.session_state["outreach_ai_job"] = drafts.start_ai_drafts(
                actor=actor, lead_ids=lead_ids, channel=channel
            )
    if st.session_state.get("outreach_ai_job"):
        _poll_drafting(actor, st.session_state["outreach_ai_job"])
