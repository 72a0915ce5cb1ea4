"""Settings → API keys: create (name, scopes, expiry; the key is shown once), list with last use, revoke."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actor import Actor
from core.apikeys import service as apikeys
from core.config import get_settings
from ui.common import show_errors

SCOPES = ("read", "write", "send")


def _when(value: object) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value is not None else "—"


def render(actor: Actor) -> None:
    """The keys of the workspace and the forms to create and revoke them (owners and admins)."""
    st.subheader("API keys")
    st.caption(
        "A key calls the REST API (`/api/v1`, docs at `/api/v1/docs`) as you, in this workspace, within its "
        "scopes: `read`, `write` (change leads, strategies, runs, webhooks), `send` (send messages)."
    )
    if not actor.can_manage_team:
        st.info("Only owners and admins can create or revoke API keys.")
        return
    if shown := st.session_state.pop("settings_new_key", None):
        st.warning(f"Copy the key '{shown[0]}' now: it is shown only this once (only its hash is stored).")
        st.code(shown[1], language=None)
    with st.form("settings_key_form", clear_on_submit=True):
        st.markdown("**Create a key**")
        name = st.text_input("Name", key="settings_key_name", placeholder="e.g. CRM sync")
        scopes = st.multiselect("Scopes", list(SCOPES), default=["read"], key="settings_key_scopes")
        days = st.number_input(
            "Expires after (days; 0 = never)",
            min_value=0,
            max_value=3650,
            value=get_settings().api_key_default_days,
            key="settings_key_days",
        )
        if st.form_submit_button("Create key"):
            with show_errors():
                created = apikeys.create_api_key(actor=actor, name=name, scopes=scopes, expires_in_days=int(days))
                st.session_state["settings_new_key"] = (created.name, created.key)
                st.session_state["settings_notice"] = (
                    f"Created the API key '{created.name}' ({', '.join(created.scopes)})."
                )
                st.rerun()

    keys = apikeys.list_api_keys(actor=actor)
    if not keys:
        st.caption("No API keys yet.")
        return
    rows = [
        {
            "id": k.id,
            "name": k.name,
            "key": f"{k.prefix}…",
            "scopes": ", ".join(k.scopes),
            "created by": k.created_by,
            "created": _when(k.created_at),
            "last used": _when(k.last_used_at),
            "expires": _when(k.expires_at) if k.expires_at else "never",
            "state": "revoked" if k.revoked_at else ("active" if k.active else "expired"),
        }
        for k in keys
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    live = {k.id: k for k in keys if k.revoked_at is None}
    if not live:
        return
    target = st.selectbox(
        "Key to revoke",
        list(live),
        format_func=lambda i: f"{live[i].name} ({live[i].prefix}…)",
        key="settings_key_target",
    )
    key = live[target]
    if st.session_state.get("settings_key_confirm") != target:
        if st.button("Revoke…", key="settings_key_revoke"):
            st.session_state["settings_key_confirm"] = target
            st.rerun()
        return
    st.warning(f"Revoke the key '{key.name}' ({key.prefix}…)? Anything still using it gets 401 from now on.")
    yes, no = st.columns(2)
    if yes.button(f"Yes, revoke '{key.name}'", key=f"settings_key_revoke_yes_{target}"):
        with show_errors():
            apikeys.revoke_api_key(actor=actor, key_id=target)
            st.session_state.pop("settings_key_confirm", None)
            st.session_state["settings_notice"] = f"Revoked the API key '{key.name}' ({key.prefix}…)."
            st.rerun()
    if no.button("Cancel", key="settings_key_revoke_cancel"):
        st.session_state.pop("settings_key_confirm", None)
        st.rerun()
