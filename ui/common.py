"""Helpers every page uses: the current actor and how errors are shown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.actor import Actor
from core.errors import LeadScoutError


def current_actor() -> Actor:
    """The signed-in actor set by app.py; stops the page when there is none."""
    actor = st.session_state.get("actor")
    if not isinstance(actor, Actor):
        st.warning("Sign in to use LeadScout.")
        st.stop()
    return actor


@contextmanager
def show_errors() -> Iterator[None]:
    """Show a LeadScoutError raised inside the block as an error message and skip the rest of the block.

    Anything else is a bug: it propagates, and Streamlit logs it with its traceback.
    """
    try:
        yield
    except LeadScoutError as error:
        st.error(str(error))
