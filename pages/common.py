"""Helpers every page uses: the current actor and how errors are shown."""

from __future__ import annotations

import streamlit as st

from core.actor import Actor


def current_actor() -> Actor:
    """The signed-in actor set by app.py; stops the page when there is none."""
    actor = st.session_state.get("actor")
    if not isinstance(actor, Actor):
        st.warning("Sign in to use LeadScout.")
        st.stop()
    return actor
