"""Insights: is this working, and which searches pay off? (aggregates computed in SQL by core)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from core.extract.location import country_name
from core.leads.insights import SEARCH_USD_PER_CALL, get_insights
from ui.common import current_actor
from ui.insights_sequences import render_sequence_funnels

actor = current_actor()
st.title(":material/insights: Insights")
data = get_insights(actor=actor)
total = sum(n for _s, n in data.funnel)
if not total:
    st.info("No leads yet: run a campaign or import a CSV on the Leads page.")
    st.stop()

m1, m2, m3, m4 = st.columns(4)
m1.metric("Leads", f"{total:,}")
m2.metric("Qualified or further", f"{data.qualified:,}")
m3.metric(
    "LLM + search spend",
    f"${data.llm_cost_usd + data.search_cost_usd:,.2f}",
    help=f"Search estimated at ${SEARCH_USD_PER_CALL} per request ({data.search_calls} requests).",
)
per = data.cost_per_qualified
m4.metric("Cost per qualified lead", "—" if per is None else f"${per:,.2f}")

left, right = st.columns(2)
with left:
    st.plotly_chart(
        px.funnel(
            pd.DataFrame(data.funnel, columns=["status", "leads"]), x="leads", y="status", title="Funnel by status"
        ),
        key="insights_funnel",
    )
with right:
    scores = pd.DataFrame(data.score_buckets, columns=["from", "leads"]).assign(
        score=lambda d: d["from"].map(lambda f: f"{f}–{f + 10}")
    )
    st.plotly_chart(
        px.bar(scores, x="score", y="leads", title=f"Score distribution ({data.unscored:,} not scored)"),
        key="insights_scores",
    )
left, right = st.columns(2)
with left:
    st.plotly_chart(
        px.bar(
            pd.DataFrame(data.industries, columns=["industry", "leads"]),
            x="leads",
            y="industry",
            orientation="h",
            title="Leads by industry",
        ),
        key="insights_industries",
    )
with right:
    st.plotly_chart(
        px.bar(
            pd.DataFrame(
                [(f"{country_name(code)} ({code})", n) for code, n in data.countries], columns=["country", "leads"]
            ),
            x="leads",
            y="country",
            orientation="h",
            title="Leads by country",
        ),
        key="insights_countries",
    )
    st.plotly_chart(
        px.bar(
            pd.DataFrame(data.cities, columns=["city", "leads"]),
            x="leads",
            y="city",
            orientation="h",
            title="Leads by city",
        ),
        key="insights_cities",
    )
left, right = st.columns(2)
with left:
    yields = pd.DataFrame(data.query_yield, columns=["query", "leads", "qualified"])
    if yields.empty:
        st.caption("Query yield appears once searches have found leads.")
    else:
        st.plotly_chart(
            px.bar(
                yields,
                x=["leads", "qualified"],
                y="query",
                orientation="h",
                barmode="group",
                title="Query yield: leads found and qualified",
            ),
            key="insights_yield",
        )
with right:
    st.plotly_chart(
        px.pie(
            pd.DataFrame(data.sources, columns=["source", "leads"]), names="source", values="leads", title="Sources"
        ),
        key="insights_sources",
    )
if data.outreach:
    st.plotly_chart(
        px.bar(
            pd.DataFrame(data.outreach, columns=["day", "status", "messages"]),
            x="day",
            y="messages",
            color="status",
            title="Outreach results over time",
        ),
        key="insights_outreach",
    )
else:
    st.caption("Outreach results over time appear once messages exist.")
render_sequence_funnels(actor)
