"""Strategy: review and edit every part of a campaign's plan, save versions, approve one."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.errors import LeadScoutError
from core.runs import service as runs
from core.scoring.rules import JUDGEMENT_NAME, factor_kind
from core.strategy import service
from ui.common import current_actor, show_errors
from ui.runs_panel import render_runs

actor = current_actor()
st.session_state.setdefault("strategy_campaign_id", None)
st.session_state.setdefault("strategy_notice", None)
st.title("Strategy")

campaigns = service.list_campaigns(actor=actor)
if not campaigns:
    st.info("No campaigns yet. Start from a goal on the Goal page.")
    st.stop()
ids = [c.id for c in campaigns]
if st.session_state["strategy_campaign_id"] not in ids:
    st.session_state["strategy_campaign_id"] = ids[0]
campaign_id = st.selectbox(
    "Campaign",
    ids,
    key="strategy_campaign_id",
    # The label must not change while the page is open: the browser sends the label back, and a label that
    # changed (a status moving from draft to running) made the picker jump to the first campaign (issue 18 item 4).
    format_func=lambda cid: next(f"#{c.id} {c.name}" for c in campaigns if c.id == cid),
)
try:
    campaign = service.get_campaign_or_raise(actor=actor, campaign_id=campaign_id)
    versions = service.list_versions(actor=actor, campaign_id=campaign_id)
except LeadScoutError as error:
    st.error(str(error))
    st.stop()
current = versions[0]
plan = current.strategy
key = f"{campaign_id}_{current.version}"  # widgets start again from each new version

if notice := st.session_state.pop("strategy_notice"):
    st.success(notice)
st.caption(f"Goal: {campaign.goal}")
approved = next((v.version for v in versions if v.id == campaign.approved_version_id), None)
st.markdown(
    f"**Version {current.version}** · status **{campaign.status}**"
    + (f" · approved version {approved}" if approved else "")
)
if plan.mode == "heuristic":
    st.warning("Heuristic plan — set OPENAI_API_KEY for an AI plan.", icon=":material/rule:")
else:
    st.caption("Planned by the AI; every part is yours to edit.")

cost = plan.cost_preview
columns = st.columns(5)
columns[0].metric("Searches", cost.searches)
columns[1].metric("Pages to crawl", f"{cost.pages_to_crawl:,}")
columns[2].metric("LLM tokens", f"{cost.llm_tokens:,}")
columns[3].metric("LLM cost", f"${cost.llm_cost_usd:.2f}")
columns[4].metric("Minutes", f"{cost.minutes:g}")

summary = st.text_area("Summary", plan.summary, key=f"strategy_summary_{key}")

st.subheader("Search queries")
st.caption("Add, delete or edit rows; change the order numbers to reorder. 1 to 20 queries.")
queries = st.data_editor(
    pd.DataFrame([{"order": i, "text": q.text, "intent": q.intent} for i, q in enumerate(plan.queries, 1)]),
    key=f"strategy_queries_{key}",
    num_rows="dynamic",
    hide_index=True,
    width="stretch",
    column_config={
        "order": st.column_config.NumberColumn("order", step=1, width="small"),
        "text": st.column_config.TextColumn("query", required=True, max_chars=300, width="large"),
    },
)

st.subheader("Ideal customer")
left, right = st.columns(2)
icp_fields = {}
for column, (field, label) in zip(
    [left, right, left, right, left],
    [
        ("industries", "Industries"),
        ("locations", "Locations"),
        ("keywords", "Keywords"),
        ("signals", "Must-have signals"),
        ("exclusions", "Exclusions"),
    ],
    strict=True,
):
    icp_fields[field] = column.text_area(
        f"{label} (one per line)", "\n".join(getattr(plan.icp, field)), key=f"strategy_icp_{field}_{key}"
    )
company_size = right.text_input("Company size", plan.icp.company_size, key=f"strategy_size_{key}")

st.subheader("Qualification criteria")
criteria = st.text_area("One per line", "\n".join(plan.criteria), key=f"strategy_criteria_{key}")

st.subheader("Scoring rubric")
# The LLM's judgement of fit is a factor like the others, with the weight shown here (issue 18 item 17): scores use
# the weights exactly as entered, and the LLM counts only when this weight is above 0.
judgement = next((f for f in plan.rubric if factor_kind(f.factor) == "judgement"), None)
rubric = st.data_editor(
    pd.DataFrame([f.model_dump() for f in plan.rubric if f is not judgement], columns=["factor", "weight"]),
    key=f"strategy_rubric_{key}",
    num_rows="dynamic",
    hide_index=True,
    column_config={"weight": st.column_config.NumberColumn("weight", min_value=0, max_value=100, step=1)},
)
judgement_weight = int(
    st.number_input(
        f"{judgement.factor if judgement else JUDGEMENT_NAME} weight (0 = not part of the score)",
        min_value=0,
        max_value=100,
        value=judgement.weight if judgement else 0,
        step=1,
        key=f"strategy_judgement_{key}",
        help="The AI's overall judgement of fit, read from each lead's website and evidence (needs OPENAI_API_KEY; "
        "without an answer the factor shows 'not judged' and earns nothing). It counts for exactly this many of "
        "the 100 points; no weight is ever rescaled to make room for it.",
    )
)
rules_total = int(pd.to_numeric(rubric["weight"], errors="coerce").fillna(0).sum())
total = rules_total + judgement_weight
(st.caption if total == 100 else st.error)(
    f"Weights add up to {total} (factors {rules_total} + LLM judgement {judgement_weight}); they must add up to 100 "
    "and are used exactly as entered."
)

st.subheader("Outreach angle")
value_proposition = st.text_area("Value proposition", plan.angle.value_proposition, key=f"strategy_value_{key}")
tone = st.text_input("Tone", plan.angle.tone, key=f"strategy_tone_{key}")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _cell(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value).strip()


def _edited_queries() -> list[dict[str, str]]:
    ordered = queries.assign(order=pd.to_numeric(queries["order"], errors="coerce")).sort_values("order", kind="stable")
    rows = [{"text": _cell(r["text"]), "intent": _cell(r["intent"])} for _, r in ordered.iterrows()]
    return [r for r in rows if r["text"] or r["intent"]]


change_note = st.text_input("Note for this version (optional)", key=f"strategy_note_{key}")
if st.button("Save as new version", type="primary", key="strategy_save", icon=":material/save:"):
    edited = {
        "summary": summary,
        "icp": {**{field: _lines(text) for field, text in icp_fields.items()}, "company_size": company_size},
        "queries": _edited_queries(),
        "criteria": _lines(criteria),
        "rubric": [
            {"factor": _cell(r["factor"]), "weight": pd.to_numeric(r["weight"], errors="coerce")}
            for _, r in rubric.iterrows()
            if _cell(r["factor"]) or _cell(r["weight"])
        ]
        + (
            [{"factor": judgement.factor if judgement else JUDGEMENT_NAME, "weight": judgement_weight}]
            if judgement_weight
            else []
        ),
        "angle": {"value_proposition": value_proposition, "tone": tone},
        "mode": plan.mode,
    }
    with show_errors():
        saved = service.save_version(actor=actor, campaign_id=campaign_id, strategy=edited, change_note=change_note)
        st.session_state["strategy_notice"] = f"Saved version {saved.version}: {saved.change_note}"
        st.session_state[f"strategy_approve_pick_{campaign_id}"] = saved.id  # offer the new version for approval
        st.rerun()

st.subheader("Versions and approval")
for version in versions:
    marker = " ✅ approved" if version.id == campaign.approved_version_id else ""
    with st.expander(
        f"Version {version.version}{marker} — {version.created_at:%Y-%m-%d %H:%M} by {version.created_by or 'unknown'}",
        expanded=version is current,
    ):
        st.text(version.change_note or "No note.")
pick = st.selectbox(
    "Version to approve",
    [v.id for v in versions],
    key=f"strategy_approve_pick_{campaign_id}",
    format_func=lambda vid: f"Version {next(v.version for v in versions if v.id == vid)}",
)
if st.button("Approve and run", key="strategy_approve", icon=":material/check_circle:"):
    with show_errors():
        campaign = service.approve(actor=actor, campaign_id=campaign_id, version_id=pick)
        number = next(v.version for v in versions if v.id == pick)
        if runs.search_available():
            started = runs.start_run(actor=actor, campaign_id=campaign_id)
            notice = f"Approved version {number} and started run {started.run_id}: searching the web now."
        else:
            notice = (
                f"Approved version {number}. Web search is not configured (BRAVE_API_KEY), "
                "so paste the websites to analyse below."
            )
        st.session_state["strategy_notice"] = notice
        st.rerun()

if campaign.approved_version_id is not None:
    render_runs(actor, campaign_id)
