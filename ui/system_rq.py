"""System page section: RQ's started and failed registries, with tracebacks, retry and delete."""

from __future__ import annotations

import streamlit as st

from core.actor import Actor
from core.monitoring import health as system
from ui.common import show_errors


def _act(action, actor: Actor, rq_id: str, done: str) -> None:  # noqa: ANN001 - a core.system function
    with show_errors():
        action(actor=actor, rq_id=rq_id)
        st.toast(done)


def render_rq_registries(actor: Actor) -> None:
    """Running and failed RQ jobs of this workspace; admins may requeue or delete failed ones."""
    started = system.rq_jobs(actor=actor, registry="started")
    failed = system.rq_jobs(actor=actor, registry="failed")
    st.subheader("RQ jobs")
    st.caption(f"{len(started)} running · {len(failed)} failed (this workspace)")
    for job in started[:20]:
        st.markdown(
            f"`{job.rq_id}` · {job.queue} · {job.description}"
            + (f" · since {job.enqueued_at:%H:%M:%S}" if job.enqueued_at else "")
        )
    admin = actor.can_manage_team
    for job in failed[:20]:
        with st.expander(f"Failed in {job.queue}: {job.description or job.rq_id}"):
            st.code(job.traceback or "(no traceback kept)", language="python")
            retry, delete = st.columns(2)
            if retry.button("Requeue", key=f"system_rq_requeue_{job.rq_id}", disabled=not admin):
                _act(system.requeue_rq_job, actor, job.rq_id, f"Requeued {job.rq_id}")
            if delete.button("Delete", key=f"system_rq_delete_{job.rq_id}", disabled=not admin):
                _act(system.delete_rq_job, actor, job.rq_id, f"Deleted {job.rq_id}")
    if failed and not admin:
        st.caption("Only owners and admins can requeue or delete failed jobs.")
