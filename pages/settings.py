"""Settings: the team and its roles, API keys, webhook endpoints, and which providers are configured."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.monitoring import health as system
from ui import settings_keys, settings_team, settings_webhooks
from ui.common import current_actor

actor = current_actor()
st.title("Settings")
if notice := st.session_state.pop("settings_notice", None):
    st.success(notice)

team_tab, keys_tab, hooks_tab, providers_tab = st.tabs(["Team", "API keys", "Webhooks", "Providers"])
with team_tab:
    settings_team.render(actor)
with keys_tab:
    settings_keys.render(actor)
with hooks_tab:
    settings_webhooks.render(actor)
with providers_tab:
    st.subheader("Providers")
    st.caption("Set these in the environment or `.env` (see `.env.example`) and restart. Keys are never shown in full.")
    st.dataframe(
        pd.DataFrame(
            [
                {"provider": p.name, "used for": p.purpose, "configured": p.configured, "detail": p.detail}
                for p in system.providers()
            ]
        ),
        hide_index=True,
        width="stretch",
    )
