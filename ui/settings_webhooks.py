"""Settings → Webhooks: add an endpoint (its secret is shown once), its events, the delivery log with
every attempt's response code, redelivery by hand, and deleting an endpoint after a confirmation."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actor import Actor
from core.webhooks import service as webhooks
from ui.common import show_errors


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value is not None else "—"


def render(actor: Actor) -> None:
    """The workspace's endpoints, the add form, and the chosen endpoint's deliveries (owners and admins)."""
    st.subheader("Webhook endpoints")
    st.caption(
        "LeadScout POSTs each chosen event to the URL as JSON, signed as Standard Webhooks describes "
        "(`webhook-id`, `webhook-timestamp`, `webhook-signature`); failed deliveries are retried with backoff. "
        "See README → Webhooks for how to verify."
    )
    if not actor.can_manage_team:
        st.info("Only owners and admins can manage webhook endpoints.")
        return
    if shown := st.session_state.pop("settings_new_secret", None):
        st.warning(f"Copy the signing secret of {shown[0]} now: it is shown only this once.")
        st.code(shown[1], language=None)
    with st.form("settings_hook_form", clear_on_submit=True):
        st.markdown("**Add an endpoint**")
        url = st.text_input("URL", key="settings_hook_url", placeholder="https://hooks.example.com/leadscout")
        description = st.text_input("Description", key="settings_hook_description", placeholder="e.g. CRM")
        events = st.multiselect("Events", list(webhooks.EVENTS), default=["lead.created"], key="settings_hook_events")
        if st.form_submit_button("Add endpoint"):
            with show_errors():
                created = webhooks.create_endpoint(actor=actor, url=url, events=events, description=description)
                st.session_state["settings_new_secret"] = (created.url, created.secret)
                st.session_state["settings_notice"] = f"Added the webhook endpoint {created.url}."
                st.rerun()

    endpoints = {e.id: e for e in webhooks.list_endpoints(actor=actor)}
    if not endpoints:
        st.caption("No webhook endpoints yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "id": e.id,
                    "url": e.url,
                    "description": e.description,
                    "events": ", ".join(e.events),
                    "status": e.status,
                    "failing since": _when(e.failing_since),
                }
                for e in endpoints.values()
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    chosen = st.selectbox(
        "Endpoint", list(endpoints), format_func=lambda i: f"#{i} {endpoints[i].url}", key="settings_hook_endpoint"
    )
    endpoint = endpoints[chosen]
    _deliveries(actor, endpoint.id, endpoint.url)
    _delete(actor, endpoint.id, endpoint.url)


def _deliveries(actor: Actor, endpoint_id: int, url: str) -> None:
    st.markdown("**Delivery log**")
    rows = {d.id: d for d in webhooks.list_deliveries(actor=actor, endpoint_id=endpoint_id, limit=100)}
    if not rows:
        st.caption("Nothing delivered to this endpoint yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "id": d.id,
                    "event": d.event,
                    "status": d.status,
                    "attempts": d.attempts,
                    "last response": d.last_status_code if d.last_status_code is not None else "—",
                    "error": d.last_error,
                    "next attempt": _when(d.next_attempt_at),
                    "created": _when(d.created_at),
                }
                for d in rows.values()
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    picked = st.selectbox(
        "Delivery",
        list(rows),
        format_func=lambda i: f"#{i} {rows[i].event} — {rows[i].status}",
        key=f"settings_hook_delivery_{endpoint_id}",
    )
    with show_errors():
        detail = webhooks.get_delivery_or_raise(actor=actor, delivery_id=picked)
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "at": _when(a.created_at),
                        "response": a.status_code if a.status_code is not None else "—",
                        "error": a.error,
                        "ms": a.duration_ms,
                        "by hand": a.manual,
                    }
                    for a in detail.log
                ],
                columns=["at", "response", "error", "ms", "by hand"],
            ),
            hide_index=True,
            width="stretch",
        )
    if st.button(f"Redeliver #{picked}", key=f"settings_hook_redeliver_{picked}"):
        with show_errors():
            webhooks.redeliver(actor=actor, delivery_id=picked)
            st.session_state["settings_notice"] = f"Delivery #{picked} ({rows[picked].event}) to {url} is queued again."
            st.rerun()


def _delete(actor: Actor, endpoint_id: int, url: str) -> None:
    if st.session_state.get("settings_hook_confirm") != endpoint_id:
        if st.button("Delete endpoint…", key=f"settings_hook_delete_{endpoint_id}"):
            st.session_state["settings_hook_confirm"] = endpoint_id
            st.rerun()
        return
    st.warning(f"Delete the endpoint {url} and its delivery log? Nothing more is sent to it.")
    yes, no = st.columns(2)
    if yes.button(f"Yes, delete {url}", key=f"settings_hook_delete_yes_{endpoint_id}"):
        with show_errors():
            webhooks.delete_endpoint(actor=actor, endpoint_id=endpoint_id)
            st.session_state.pop("settings_hook_confirm", None)
            st.session_state["settings_notice"] = f"Deleted the webhook endpoint {url}."
            st.rerun()
    if no.button("Cancel", key="settings_hook_delete_cancel"):
        st.session_state.pop("settings_hook_confirm", None)
        st.rerun()
