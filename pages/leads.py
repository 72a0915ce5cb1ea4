"""Leads: the shared table (filtered, sorted and paged in SQL), detail, bulk actions, CSV in and out."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.extract.fingerprints import FILTER_CATEGORIES
from core.leads import merge, service
from core.leads.models import LEAD_STATUSES
from core.leads.query import SORTABLE, LeadFilter, filter_options, list_leads
from ui.common import current_actor, show_errors
from ui.leads_csv import render_export, render_import
from ui.leads_detail import render_detail
from ui.leads_rescore import render_outdated_banner

actor = current_actor()
st.title(":material/table_view: Leads")
options = filter_options(actor=actor)
owners = dict(options.owners)
campaigns = dict(options.campaigns)
if st.session_state.get("leads_workspace_id") != actor.workspace_id:
    # Another workspace was picked: the previous one's selection must not be acted on (or handed to Outreach) here.
    for key in ("leads_page", "leads_selected", "leads_open", "leads_dups"):
        st.session_state.pop(key, None)
    st.session_state["leads_workspace_id"] = actor.workspace_id
for key, value in (("leads_page", 1), ("leads_selected", []), ("leads_open", None)):
    st.session_state.setdefault(key, value)

with st.expander("Filters", expanded=True, icon=":material/filter_list:"):
    c1, c2, c3, c4 = st.columns(4)
    text = c1.text_input("Search name, domain, summary, notes", key="leads_text")
    statuses = c2.multiselect("Status", LEAD_STATUSES, key="leads_statuses")
    score = c3.slider("Score", 0, 100, (0, 100), key="leads_score")
    tags = c4.text_input("Tags (comma-separated, any)", key="leads_tags")
    c1, c2, c3, c4 = st.columns(4)
    industry = c1.text_input("Industry", key="leads_industry")
    location = c2.text_input("Location or country code", key="leads_location")
    technology = c3.text_input("Technology", key="leads_tech")
    has_email = c4.selectbox("Has email", ["any", "yes", "no"], key="leads_has_email")
    c1, c2, c3, c4 = st.columns(4)
    has_phone = c1.selectbox("Has phone", ["any", "yes", "no"], key="leads_has_phone")
    owner = c2.selectbox(
        "Owner", [None, *owners], format_func=lambda i: "anyone" if i is None else owners[i], key="leads_owner"
    )
    campaign = c3.selectbox(
        "Campaign", [None, *campaigns], format_func=lambda i: "any" if i is None else campaigns[i], key="leads_campaign"
    )
    found_by = c4.selectbox(
        "Found by query", ["", *options.search_queries], format_func=lambda q: q or "any", key="leads_query"
    )
    c1, c2, _c3, _c4 = st.columns(4)
    tech_category = c1.selectbox(
        "Technology category", ["", *FILTER_CATEGORIES], format_func=lambda c: c or "any", key="leads_tech_category"
    )
    tech_absent = c2.toggle("None of that category", key="leads_tech_absent", disabled=not tech_category)

flt = LeadFilter(
    statuses=tuple(statuses),
    score_min=score[0] if score != (0, 100) else None,
    score_max=score[1] if score != (0, 100) else None,
    industry=industry,
    location=location,
    has_email={"any": None, "yes": True, "no": False}[has_email],
    has_phone={"any": None, "yes": True, "no": False}[has_phone],
    technology=technology,
    tech_category=tech_category,
    tech_category_absent=bool(tech_category) and tech_absent,
    tags=tuple(t.strip() for t in tags.split(",") if t.strip()),
    owner_id=owner,
    campaign_id=campaign,
    search_query=found_by,
    text=text,
)
c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
sort = c1.selectbox("Sort by", list(SORTABLE), key="leads_sort")
descending = c2.toggle("Descending", value=True, key="leads_desc")
page_size = c3.selectbox("Rows per page", [50, 100, 250], key="leads_page_size")
page_no = c4.number_input("Page", min_value=1, step=1, key="leads_page")

page = list_leads(actor=actor, flt=flt, sort=sort, descending=descending, page=int(page_no), page_size=page_size)
pages_total = max(1, -(-page.total // page_size))
st.caption(f"{page.total:,} leads match · page {page_no} of {pages_total:,}")
render_outdated_banner(actor, flt)
row_ids = [r.id for r in page.rows]
frame = pd.DataFrame(
    [
        {
            "id": r.id,
            "company": r.name,
            "website": r.website,
            "score": r.score,
            "status": r.status,
            "industry": r.industry,
            "location": ", ".join(p for p in (r.location, r.country) if p),
            "email": r.email,
            "phone": r.phone,
            "owner": r.owner,
            "tags": ", ".join(r.tags),
            "tech": ", ".join(r.tech),
            "source": r.source,
        }
        for r in page.rows
    ],
    columns=[
        "id",
        "company",
        "website",
        "score",
        "status",
        "industry",
        "location",
        "email",
        "phone",
        "owner",
        "tags",
        "tech",
        "source",
    ],
)


def _take_selection() -> None:
    """Copy the table's selected rows into the selection box (a callback: runs before widgets exist)."""
    rows = st.session_state["leads_table"]["selection"]["rows"]
    chosen = [row_ids[i] for i in rows if i < len(row_ids)]
    st.session_state["leads_selected"] = chosen
    if chosen:
        st.session_state["leads_open"] = chosen[0]


st.dataframe(
    frame,
    hide_index=True,
    key="leads_table",
    on_select=_take_selection,
    selection_mode="multi-row",
    column_config={
        "id": st.column_config.NumberColumn("ID", width="small"),
        "website": st.column_config.LinkColumn("Website", display_text=r"https?://(?:www\.)?([^/]+)"),
        "score": st.column_config.ProgressColumn("Score", min_value=0, max_value=100, format="%.0f"),
        "status": st.column_config.TextColumn("Status"),
    },
)
names = {r.id: r.name or r.domain for r in page.rows}
chosen_now = [i for i in st.session_state["leads_selected"] if isinstance(i, int)]
selected = st.multiselect(
    "Selected leads",
    sorted(set(row_ids) | set(chosen_now)),
    key="leads_selected",
    format_func=lambda i: f"{names.get(i, 'lead')} (#{i})",
)

if selected:
    st.markdown(f"**{len(selected)} selected**")
    b1, b2, b3, b4, b5, b6 = st.columns(6)
    new_status = b1.selectbox("Set status", LEAD_STATUSES, key="leads_bulk_status", label_visibility="collapsed")
    new_owner = b2.selectbox(
        "Assign to",
        [None, *owners],
        format_func=lambda i: "nobody" if i is None else owners[i],
        key="leads_bulk_owner",
        label_visibility="collapsed",
    )
    with show_errors():
        if b1.button("Set status", key="leads_bulk_status_go"):
            st.success(
                f"Set {service.set_status(actor=actor, lead_ids=selected, status=new_status)} leads to {new_status}."
            )
        if b2.button("Assign", key="leads_bulk_assign_go"):
            st.success(f"Assigned {service.assign(actor=actor, lead_ids=selected, owner_id=new_owner)} leads.")
        if b3.button("Re-crawl", key="leads_bulk_recrawl"):
            st.success(
                f"Re-crawl queued as run(s) {', '.join(map(str, service.recrawl(actor=actor, lead_ids=selected)))}."
            )
        if b4.button("Re-score", key="leads_bulk_rescore"):
            st.success(f"Re-scoring in job {service.rescore(actor=actor, lead_ids=selected)}.")
        confirm = b5.checkbox("Confirm delete", key="leads_bulk_delete_confirm")
        if b5.button("Delete", key="leads_bulk_delete", disabled=not confirm):
            st.success(
                f"Deleted {service.delete_leads(actor=actor, lead_ids=selected)} leads; they will not come back."
            )
            st.session_state.pop("leads_selected", None)
        if b6.button("Contact", key="leads_bulk_contact", type="primary"):
            st.session_state["outreach_lead_ids"] = list(selected)
            st.switch_page("pages/outreach.py")

detail_tab, import_tab, export_tab, dup_tab = st.tabs(["Detail", "Import CSV", "Export CSV", "Duplicates"])
with detail_tab:
    open_ids = list(
        dict.fromkeys([*([st.session_state["leads_open"]] if st.session_state["leads_open"] else []), *row_ids])
    )
    lead_id = st.selectbox(
        "Open lead",
        [None, *open_ids],
        key="leads_open",
        format_func=lambda i: "choose a lead" if i is None else f"{names.get(i, 'lead')} (#{i})",
    )
    if lead_id:
        render_detail(actor, lead_id, owners)
with import_tab:
    render_import(actor)
with export_tab:
    render_export(actor, flt, selected)
with dup_tab:
    if st.button("Find duplicates", key="leads_dup_find"):
        st.session_state["leads_dups"] = merge.find_duplicates(actor=actor)
    for n, group in enumerate(st.session_state.get("leads_dups", [])):
        labels = dict(zip(group.lead_ids, group.names, strict=True))
        st.markdown(f"**Same {group.reason}: `{group.key}`** — " + ", ".join(f"{v} (#{k})" for k, v in labels.items()))
        keep = st.selectbox(
            "Keep", group.lead_ids, format_func=lambda i, lb=labels: f"{lb[i]} (#{i})", key=f"leads_dup_keep_{n}"
        )
        if st.button("Merge the others into it", key=f"leads_dup_merge_{n}"):
            with show_errors():
                merge.merge_leads(actor=actor, keep_id=keep, merge_ids=list(group.lead_ids))
                st.session_state["leads_dups"] = merge.find_duplicates(actor=actor)
                st.success("Merged; contacts, evidence and messages moved, recorded in the audit log.")
