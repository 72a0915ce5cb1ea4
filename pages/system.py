"""System: is everything up, what are the jobs doing, and retry what failed."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import background
from core.monitoring import health as system
from ui.common import current_actor, show_errors
from ui.system_rq import render_rq_registries

actor = current_actor()
st.title("System")

health = system.health(actor=actor)
columns = st.columns(len(health.checks))
for column, check in zip(columns, health.checks, strict=True):
    with column:
        icon = ":material/check_circle:" if check.ok else ":material/error:"
        st.markdown(f"**{icon} {check.name}**")
        st.caption(check.detail + (f" · {check.latency_ms:.0f} ms" if check.latency_ms is not None else ""))

if health.queues:
    st.subheader("Queues")
    st.dataframe(
        pd.DataFrame(
            {
                "queue": [q.name for q in health.queues],
                "waiting": [q.queued for q in health.queues],
                "oldest waiting (min)": [round((q.oldest_age_seconds() or 0) / 60, 1) for q in health.queues],
                "running": [q.started for q in health.queues],
                "failed": [q.failed for q in health.queues],
                "scheduled": [q.scheduled for q in health.queues],
            }
        ),
        hide_index=True,
        width="stretch",
    )
if health.workers:
    st.subheader("Workers")
    st.dataframe(pd.DataFrame([w.__dict__ for w in health.workers]), hide_index=True, width="stretch")

activity = system.activity(actor=actor)
st.subheader("Activity")
month = activity.month
cols = st.columns(4 if actor.may("system.details") else 3)
cols[0].metric(
    "LLM spend this month", f"${month.llm_cost_usd:,.2f}", help=f"{month.llm_calls:,} calls since {month.since:%d %b}"
)
cols[1].metric("LLM tokens this month", f"{month.llm_tokens:,}")
cols[2].metric("Searches this month", f"{month.search_calls:,}")
size = activity.database_bytes
if actor.may("system.details"):
    cols[3].metric("Database size", f"{size / 1_048_576:,.1f} MB" if size is not None else "unknown")
hours = pd.DataFrame([h.__dict__ for h in activity.jobs_per_hour]).set_index("hour")
st.caption("Jobs per hour, last 24 hours")
st.bar_chart(hours, color=["#2e7d32", "#c62828", "#9e9e9e"], height=200)
if month.campaigns:
    st.caption("Campaign LLM budgets")
    st.dataframe(
        pd.DataFrame(
            {
                "campaign": [c.name for c in month.campaigns],
                "used": [min(c.fraction, 1.0) for c in month.campaigns],
                "spent ($)": [round(c.spent_usd, 4) for c in month.campaigns],
                "budget ($)": [c.budget_usd for c in month.campaigns],
                "tokens": [c.spent_tokens for c in month.campaigns],
                "token budget": [c.budget_tokens for c in month.campaigns],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config={"used": st.column_config.ProgressColumn("used", min_value=0.0, max_value=1.0)},
    )

if health.mode == "rq" and actor.may("system.details"):
    render_rq_registries(actor)

st.subheader("Jobs")
if st.button("Test the job queue", help="Runs a short self-test job and shows its progress below."):
    with show_errors():
        job_id = background.submit(kind="system.selftest", args={"steps": 10, "pause": 0.3}, actor=actor)
        st.toast(f"Self-test job {job_id} submitted")

status_filter = st.segmented_control(
    "Show", ["all", "active", "failed"], default="all", key="system_job_filter", label_visibility="collapsed"
)


@st.fragment(run_every=2)
def job_table() -> None:
    """The job list, refreshed every two seconds while the page is open."""
    views = background.list_jobs(actor=actor, status="failed" if status_filter == "failed" else None)
    if status_filter == "active":
        views = [v for v in views if v.is_active]
    if not views:
        st.info("No jobs yet." if status_filter == "all" else f"No {status_filter} jobs.")
        return
    frame = pd.DataFrame(
        {
            "id": [v.id for v in views],
            "kind": [v.kind for v in views],
            "status": [v.state for v in views],
            "progress": [v.fraction if v.fraction is not None else 0.0 for v in views],
            "message": [v.message for v in views],
            "attempts": [v.attempts for v in views],
            "created": [v.created_at for v in views],
            "error": [v.error for v in views],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0)},
    )
    for view in [v for v in views if v.is_active][:5]:
        if st.button(f"Cancel job {view.id} ({view.kind})", key=f"system_cancel_{view.id}"):
            with show_errors():
                background.cancel(actor=actor, job_id=view.id)
    for view in [v for v in views if v.status == "failed"][:10]:
        with st.expander(f"Job {view.id} failed: {view.kind}"):
            st.code(view.error or "(no error recorded)", language=None)
            if st.button("Retry", key=f"system_retry_{view.id}"):
                with show_errors():
                    new_id = background.retry(actor=actor, job_id=view.id)
                    st.success(f"Submitted again as job {new_id}.")


job_table()
