"""Insights' sequence section: each sequence's per-step funnel (sent, replied, bounced, unsubscribed)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.actor import Actor
from core.sequences.funnel import all_funnels


def render_sequence_funnels(actor: Actor) -> None:
    """One grouped bar chart per sequence that has sent something."""
    shown = [(sid, name, rows) for sid, name, rows in all_funnels(actor=actor) if any(r.sent for r in rows)]
    if not shown:
        st.caption("Sequence funnels appear once a sequence has sent its first step.")
        return
    for sequence_id, name, rows in shown:  # charts keyed by the sequence's id
        frame = pd.DataFrame(
            [
                {
                    "step": f"{r.position} ({r.channel})",
                    "sent": r.sent,
                    "replied": r.replied,
                    "bounced": r.bounced,
                    "unsubscribed": r.unsubscribed,
                }
                for r in rows
            ]
        )
        st.plotly_chart(
            px.bar(
                frame,
                x="step",
                y=["sent", "replied", "bounced", "unsubscribed"],
                barmode="group",
                title=f"Sequence “{name}”: per-step funnel",
            ),
            key=f"insights_sequence_{sequence_id}",
        )
