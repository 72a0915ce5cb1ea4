"""The runs of an approved campaign: paste websites, watch progress, cancel. Used by strategy.py."""

from __future__ import annotations

import streamlit as st

from core.actor import Actor
from core.runs import service as runs
from ui.common import show_errors


def render_runs(actor: Actor, campaign_id: int) -> None:
    """Paste-URLs form and the live list of runs for one campaign."""
    st.subheader("Runs")
    with st.form(f"runs_paste_{campaign_id}", clear_on_submit=False):
        urls = st.text_area(
            "Websites to analyse (one per line)",
            key=f"runs_urls_{campaign_id}",
            placeholder="https://example-roaster.com\nanother-company.de",
        )
        if st.form_submit_button("Analyse these websites", icon=":material/travel_explore:"):
            with show_errors():
                started = runs.start_run_from_urls(actor=actor, campaign_id=campaign_id, urls_text=urls)
                st.success(f"Run {started.run_id} started.")
                for line, text, reason in started.rejected:
                    st.warning(f"Line {line} skipped ({text.strip()[:80]}): {reason}")
    st.caption(f"Searches this month: {runs.searches_this_month(actor=actor)}")
    _run_list(actor, campaign_id)


@st.fragment(run_every=2)
def _run_list(actor: Actor, campaign_id: int) -> None:
    views = runs.list_runs(actor=actor, campaign_id=campaign_id)
    if not views:
        st.info("No runs yet.")
        return
    for view in views[:5]:
        label = (
            f"Run {view.id} · {view.status} · {view.hits} hits · {view.sites_crawled}/{view.sites_total} sites crawled"
            f" · {view.sites_failed} failed · {view.leads_created} new leads, {view.leads_updated} updated"
            + (f" · {view.sites_cancelled} cancelled" if view.sites_cancelled else "")
        )
        st.progress(view.fraction or 0.0, text=label)
        for line in view.retrying[:3]:
            st.warning(line, icon=":material/schedule:")
        for error in view.errors[:3]:
            st.error(error)
        if view.is_active and st.button("Cancel run", key=f"runs_cancel_{view.id}", icon=":material/stop_circle:"):
            with show_errors():
                runs.cancel_run(actor=actor, run_id=view.id)
