"""Goal: a plain-English goal in, a reviewable strategy draft out (with its cost preview)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.config import get_settings
from core.errors import LeadScoutError
from core.strategy import service
from ui.common import current_actor, show_errors

EXAMPLES = (
    "Independent coffee roasters in Portland, OR that sell online and might need compostable packaging",
    "Family-owned dental practices in Austin, Dallas and Houston, not chains",
    "Boutique hotels in Lisbon and Porto that don't have online booking",
    "E-commerce brands selling on Shopify in the UK, excluding dropshippers and marketplaces",
)

actor = current_actor()
st.session_state.setdefault("goal_text", "")
st.session_state.setdefault("goal_created_id", None)


def _use_example(text: str) -> None:
    st.session_state["goal_text"] = text


st.title("What are you looking for?")
st.caption("Describe the customers you want in plain English: what they do, where, and anything to leave out.")
if not get_settings().openai_enabled:
    st.info(
        "No OpenAI key is set, so plans come from the heuristic planner. Set OPENAI_API_KEY for an AI plan.",
        icon=":material/info:",
    )

st.text_area(
    "Goal",
    key="goal_text",
    height=110,
    max_chars=2000,
    placeholder="e.g. independent bakeries in Leeds and York that cater weddings, not chains",
)
with st.expander("Examples"):
    for number, example in enumerate(EXAMPLES):
        st.button(example, key=f"goal_example_{number}", on_click=_use_example, args=(example,), type="tertiary")

if st.button("Generate strategy", type="primary", key="goal_generate", icon=":material/auto_awesome:"):
    with show_errors():
        with st.spinner("Planning..."):
            version = service.create_campaign_from_goal(actor=actor, goal=st.session_state["goal_text"])
        st.session_state["strategy_campaign_id"] = version.campaign_id
        st.session_state["goal_created_id"] = version.campaign_id
        st.switch_page("pages/strategy.py")

if (created := st.session_state["goal_created_id"]) is not None:
    st.success(f"Strategy drafted for campaign {created}. Review and edit it before approving.")
    st.page_link("pages/strategy.py", label="Open the strategy", icon=":material/arrow_forward:")

st.subheader("Earlier campaigns")
try:
    campaigns = service.list_campaigns(actor=actor)
except LeadScoutError as error:
    st.error(str(error))
    campaigns = []
if not campaigns:
    st.caption("None yet. Your first goal becomes your first campaign.")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "id": c.id,
                    "campaign": c.name,
                    "status": c.status,
                    "versions": c.latest_version,
                    "plan": "AI" if c.mode == "llm" else "heuristic",
                    "created": c.created_at,
                }
                for c in campaigns
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={"created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
    )
    picked = st.selectbox(
        "Open a campaign",
        [c.id for c in campaigns],
        key="goal_open_pick",
        format_func=lambda cid: next(f"#{c.id} {c.name}" for c in campaigns if c.id == cid),
    )
    if st.button("Open", key="goal_open"):
        st.session_state["strategy_campaign_id"] = picked
        st.switch_page("pages/strategy.py")
