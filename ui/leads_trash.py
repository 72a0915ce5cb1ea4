"""The trash panel of the leads page (owners and admins): deleted leads, restorable for 30 days, keyed by lead id."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actor import Actor
from core.leads import trash
from ui.common import show_errors

SHOWN = 100  # restore buttons drawn; the table lists every restorable lead


def render_trash(actor: Actor, on_restored) -> None:  # noqa: ANN001 - the page's after-action callback
    """Trashed leads, newest first, each with a Restore button that acts on that lead's id only."""
    items = trash.list_trash(actor=actor)  # re-read on every run; opening the trash purges old ones first
    if not items:
        st.info(f"The trash is empty. Deleted leads stay here for {trash.TRASH_DAYS} days.")
        return
    st.caption(
        f"{len(items):,} deleted lead(s). Restore one within {trash.TRASH_DAYS} days; after that it is purged "
        "(messages already sent stay in the message log)."
    )
    st.dataframe(
        pd.DataFrame(
            {
                "id": [t.id for t in items],
                "company": [t.name for t in items],
                "domain": [t.domain for t in items],
                "deleted": [t.deleted_at for t in items],
                "by": [t.deleted_by for t in items],
                "restorable until": [t.restorable_until for t in items],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    for item in items[:SHOWN]:
        if st.button(f"Restore {item.name} (#{item.id})", key=f"leads_trash_restore_{item.id}"):
            with show_errors():
                count = trash.restore_leads(actor=actor, lead_ids=[item.id])
                on_restored(
                    f"Restored {item.name} (#{item.id})."
                    if count
                    else f"{item.name} (#{item.id}) was not in the trash."
                )
    if len(items) > SHOWN:
        st.caption(f"Restore buttons for the {SHOWN} most recently deleted; the rest are in the table above.")
