"""Leads: the shared table (filtered, sorted and paged in SQL), detail, bulk actions, CSV in and out."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from core.extract.fingerprints import FILTER_CATEGORIES
from core.extract.location import country_name
from core.leads import service
from core.leads.models import ADDRESS_STATES, LEAD_STATUSES
from core.leads.query import MAX_SELECTION, SORTABLE, LeadFilter, filter_options, list_leads, matching_names
from ui import leads_select as selection
from ui import leads_url as url
from ui.common import current_actor, show_errors
from ui.leads_csv import render_export, render_import
from ui.leads_detail import render_detail
from ui.leads_dups import render_duplicates
from ui.leads_rescore import render_outdated_banner
from ui.leads_trash import render_trash
from ui.sequences_enrol import render_enrol

YES_NO = ["any", "yes", "no"]
PAGE_SIZES = [50, 100, 250]
actor = current_actor()
st.title(":material/table_view: Leads")
options = filter_options(actor=actor)
owners = dict(options.owners)
campaigns = dict(options.campaigns)
if st.session_state.get("leads_workspace_id") != actor.workspace_id:
    # Another workspace was picked: the previous one's selection must not be acted on (or handed to Outreach) here.
    for key in ("leads_page", "leads_selected", "leads_open", "leads_dups_shown"):
        st.session_state.pop(key, None)
    selection.reset()
    st.session_state["leads_workspace_id"] = actor.workspace_id
    # A shared link or a reload opens the lead it names (only a lead of this workspace: the lookup is filtered).
    named = (
        matching_names(actor=actor, flt=LeadFilter(lead_ids=(url_lead,)), limit=1)
        if (url_lead := url.lead_from_url())
        else []
    )
    selection.remember_labels(named)
    st.session_state["leads_open"] = named[0][0] if named else None
st.session_state.setdefault("leads_open", None)
if notice := st.session_state.pop("leads_notice", None):
    st.success(notice)

with st.expander("Filters", expanded=True, icon=":material/filter_list:"):
    c1, c2, c3, c4 = st.columns(4)
    text = c1.text_input("Search name, domain, industry, summary, notes", url.text("leads_text"), key="leads_text")
    statuses = c2.multiselect(
        "Status", LEAD_STATUSES, url.choices("leads_statuses", LEAD_STATUSES), key="leads_statuses"
    )
    score = c3.slider("Score", 0, 100, url.score(), key="leads_score")
    tags = c4.text_input("Tags (comma-separated, any)", url.text("leads_tags"), key="leads_tags")
    c1, c2, c3, c4 = st.columns(4)
    industry = c1.text_input("Industry", url.text("leads_industry"), key="leads_industry")
    location = c2.text_input(
        "Place (country, city or address)",
        url.text("leads_location"),
        key="leads_location",
        help="A country in any common form (UK, GB, United Kingdom, Deutschland, DE) matches the lead's country; "
        "anything else is looked for in the city and the address.",
    )
    technology = c3.text_input("Technology", url.text("leads_tech"), key="leads_tech")
    has_email = c4.selectbox("Has email", YES_NO, url.index("leads_has_email", YES_NO), key="leads_has_email")
    c1, c2, c3, c4 = st.columns(4)
    has_phone = c1.selectbox("Has phone", YES_NO, url.index("leads_has_phone", YES_NO), key="leads_has_phone")
    owner = c2.selectbox(
        "Owner",
        [None, *owners],
        url.index("leads_owner", [None, *owners]),
        format_func=lambda i: "anyone" if i is None else owners[i],
        key="leads_owner",
    )
    campaign = c3.selectbox(
        "Campaign",
        [None, *campaigns],
        url.index("leads_campaign", [None, *campaigns]),
        format_func=lambda i: "any" if i is None else campaigns[i],
        key="leads_campaign",
    )
    found_by = c4.selectbox(
        "Found by query",
        ["", *options.search_queries],
        url.index("leads_query", ["", *options.search_queries]),
        format_func=lambda q: q or "any",
        key="leads_query",
    )
    c1, c2, c3, c4, c5 = st.columns(5)
    country = c3.selectbox(
        "Country",
        ["", *options.countries],
        url.index("leads_country", ["", *options.countries]),
        format_func=lambda c: f"{country_name(c)} ({c})" if c else "any",
        key="leads_country",
    )
    city = c4.selectbox(
        "City",
        ["", *options.cities],
        url.index("leads_city", ["", *options.cities]),
        format_func=lambda c: c or "any",
        key="leads_city",
    )
    email_check = c5.selectbox(
        "Email check",
        ["", *ADDRESS_STATES],
        url.index("leads_email_check", ["", *ADDRESS_STATES]),
        format_func=lambda s: s or "any",
        key="leads_email_check",
        help="valid, risky (disposable domain: sent only after a confirmation), invalid (never sent to) or "
        "unknown (not checked yet, or DNS did not answer)",
    )
    tech_category = c1.selectbox(
        "Technology category",
        ["", *FILTER_CATEGORIES],
        url.index("leads_tech_category", ["", *FILTER_CATEGORIES]),
        format_func=lambda c: c or "any",
        key="leads_tech_category",
    )
    tech_absent = c2.toggle(
        "None of that category",
        value=url.flag("leads_tech_absent", False),
        key="leads_tech_absent",
        disabled=not tech_category,
    )

flt = LeadFilter(
    statuses=tuple(statuses),
    score_min=score[0] if score != (0, 100) else None,
    score_max=score[1] if score != (0, 100) else None,
    industry=industry,
    location=location,
    country=country,
    city=city,
    has_email={"any": None, "yes": True, "no": False}[has_email],
    email_check=email_check,
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
sort = c1.selectbox("Sort by", list(SORTABLE), url.index("leads_sort", list(SORTABLE)), key="leads_sort")
descending = c2.toggle("Descending", value=url.flag("leads_desc", True), key="leads_desc")
page_size = c3.selectbox("Rows per page", PAGE_SIZES, url.index("leads_page_size", PAGE_SIZES), key="leads_page_size")
page_no = c4.number_input("Page", min_value=1, value=url.number("leads_page", 1, 1, 100_000), step=1, key="leads_page")

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
            "country": r.country,
            "city": r.city,
            "location": r.location,
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
        "country",
        "city",
        "location",
        "email",
        "phone",
        "owner",
        "tags",
        "tech",
        "source",
    ],
)


labels = selection.remember_labels((r.id, r.name or r.domain) for r in page.rows)
table_key = selection.table_key(row_ids)  # positions in this table mean these rows, and only these
st.dataframe(
    frame,
    hide_index=True,
    key=table_key,
    on_select=partial(selection.take_table_selection, table_key, row_ids),
    selection_mode="multi-row",
    selection_default=selection.default_rows(row_ids),
    column_config={
        "id": st.column_config.NumberColumn("ID", width="small"),
        "website": st.column_config.LinkColumn("Website", display_text=r"https?://(?:www\.)?([^/]+)"),
        "score": st.column_config.ProgressColumn("Score", min_value=0, max_value=100, format="%.0f"),
        "status": st.column_config.TextColumn("Status"),
    },
)
chosen = selection.selected()
s1, s2 = st.columns([1, 3])
if page.total > len(row_ids) and s1.button(
    f"Select all {min(page.total, MAX_SELECTION):,} matching", key="leads_select_all", icon=":material/done_all:"
):
    selection.add(matching_names(actor=actor, flt=flt))
    st.rerun()
if chosen and s2.button("Clear selection", key="leads_select_clear"):
    selection.drop(list(chosen))
    st.rerun()
# The picker holds the whole set (with labels that never change while the page is open).
st.session_state["leads_selected"] = list(chosen)
selected = st.multiselect(
    "Selected leads",
    list(dict.fromkeys([*chosen, *row_ids])),
    key="leads_selected",
    format_func=lambda i, known=dict(labels): known.get(i, f"lead #{i}"),
    on_change=selection.take_picker_selection,
)


def _done(message: str, gone: list[int] | None = None) -> None:
    """After a bulk action: drop leads that are gone, then draw the page again from the database."""
    if gone:
        selection.drop(gone)
        if st.session_state.get("leads_open") in gone:
            st.session_state["leads_open"] = None
    selection.changed()
    st.session_state["leads_notice"] = message
    st.rerun()


if selected:
    st.markdown(f"**{len(selected)} selected**")
    st.caption("Acting on " + selection.describe())
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
            count = service.set_status(actor=actor, lead_ids=selected, status=new_status)
            _done(f"Set {count} leads to {new_status}: {selection.describe()}.")
        if b2.button("Assign", key="leads_bulk_assign_go"):
            count = service.assign(actor=actor, lead_ids=selected, owner_id=new_owner)
            _done(f"Assigned {count} leads: {selection.describe()}.")
        if b3.button("Re-crawl", key="leads_bulk_recrawl"):
            runs = service.recrawl(actor=actor, lead_ids=selected)
            _done(f"Re-crawl of {selection.describe()} queued as run(s) {', '.join(map(str, runs))}.")
        if b4.button("Re-score", key="leads_bulk_rescore"):
            _done(f"Re-scoring {selection.describe()} in job {service.rescore(actor=actor, lead_ids=selected)}.")
        if actor.may("lead.delete"):  # members do not delete the team's leads (docs/permissions.md)
            confirm = b5.checkbox(
                f"Confirm delete of {len(selected)}", key=selection.confirm_key("leads_bulk_delete_confirm")
            )
            if b5.button("Delete", key="leads_bulk_delete", disabled=not confirm):
                what = selection.describe()
                count = service.delete_leads(actor=actor, lead_ids=selected)
                _done(f"Deleted {count} of {what}; restorable from the Trash tab for 30 days.", gone=list(selected))
        if b6.button("Contact", key="leads_bulk_contact", type="primary"):
            st.session_state["outreach_lead_ids"] = list(selected)
            st.session_state["outreach_open_drafts"] = True  # open its drafts, not the first tab
            st.switch_page("pages/outreach.py")
    render_enrol(actor, list(selected), _done)

detail_tab, import_tab, export_tab, dup_tab, *trash_tab = st.tabs(
    ["Detail", "Import CSV", "Export CSV", "Duplicates", *(["Trash"] if actor.may("lead.trash") else [])]
)
with detail_tab:
    open_ids = list(
        dict.fromkeys([*([st.session_state["leads_open"]] if st.session_state["leads_open"] else []), *row_ids])
    )
    lead_id = st.selectbox(
        "Open lead",
        [None, *open_ids],
        key="leads_open",
        format_func=lambda i, known=dict(labels): "choose a lead" if i is None else known.get(i, f"lead #{i}"),
    )
    url.publish(
        {
            "leads_text": text,
            "leads_statuses": ",".join(statuses),
            "leads_score": f"{score[0]}-{score[1]}" if score != (0, 100) else "",
            "leads_tags": tags,
            "leads_industry": industry,
            "leads_location": location,
            "leads_country": country,
            "leads_city": city,
            "leads_tech": technology,
            "leads_tech_category": tech_category,
            "leads_tech_absent": "1" if tech_category and tech_absent else "",
            "leads_has_email": "" if has_email == "any" else has_email,
            "leads_email_check": email_check,
            "leads_has_phone": "" if has_phone == "any" else has_phone,
            "leads_owner": "" if owner is None else str(owner),
            "leads_campaign": "" if campaign is None else str(campaign),
            "leads_query": found_by,
            "leads_sort": "" if sort == "score" else sort,
            "leads_desc": "" if descending else "0",
            "leads_page_size": "" if page_size == PAGE_SIZES[0] else str(page_size),
            "leads_page": "" if page_no == 1 else str(page_no),
        },
        lead_id,
    )
    if lead_id:
        render_detail(actor, lead_id, owners)
with import_tab:
    render_import(actor)
with export_tab:
    render_export(actor, flt, selected)
with dup_tab:
    render_duplicates(actor)
for tab in trash_tab:
    with tab:
        render_trash(actor, on_restored=_done)
