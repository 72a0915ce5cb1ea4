"""The lead detail panel of the leads page: fields with evidence, contacts, score factors, history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.actor import Actor
from core.errors import LeadScoutError
from core.extract.location import country_name
from core.leads import service
from core.leads.models import LEAD_STATUSES, LeadDetail
from core.outreach import address_checks
from ui.common import show_errors


def render_detail(actor: Actor, lead_id: int, owners: dict[int, str]) -> None:
    """Show one lead: its fields with evidence, the tabs behind them, and its edit form."""
    try:
        lead = service.get_lead_detail_or_raise(actor=actor, lead_id=lead_id)
    except LeadScoutError as error:
        st.error(str(error))
        return
    _render_header(lead)
    score_tab, contacts_tab, evidence_tab, found_tab, crawl_tab, messages_tab = st.tabs(
        ["Score", "Contacts", "Evidence", "Found by", "Crawl log", "Messages"]
    )
    with score_tab:
        _render_score(lead)
    with contacts_tab:
        _render_contacts(lead)
        _render_address_recheck(actor, lead)
    with evidence_tab:
        _render_evidence(lead)
    with found_tab:
        _render_found_by(lead)
    with crawl_tab:
        st.dataframe(pd.DataFrame([c.__dict__ for c in lead.crawl_log]), hide_index=True)
    with messages_tab:
        _render_messages(lead)
    _render_edit_form(actor, lead, owners)


def _render_header(lead: LeadDetail) -> None:
    st.subheader(lead.name or lead.domain)
    st.markdown(
        f"[{lead.website or lead.domain}]({lead.website or 'https://' + lead.domain}) · source **{lead.source}**"
        f" · score **{'—' if lead.score is None else f'{lead.score:.0f}'}**"
        + (f" ({lead.scored_rubric.label(prefixed=True)})" if lead.scored_rubric else "")
    )
    if lead.rubric_note:
        st.warning(lead.rubric_note, icon=":material/history:")
    if lead.summary:
        st.write(lead.summary)
    by_field: dict[str, list[str]] = {}
    for e in lead.evidence:
        by_field.setdefault(e.field, []).append(f"[{e.id}] [{e.value[:80]}]({e.source_url}) — “{e.snippet[:160]}”")
    fields = [
        ("Industry", lead.industry, "industry"),
        ("Address", lead.location, "address"),
        ("City", lead.city, "address"),
        ("Country", f"{country_name(lead.country)} ({lead.country})" if lead.country else "", "address"),
        ("Opening hours", lead.opening_hours, "opening_hours"),
        ("Technologies", ", ".join(lead.tech), "tech"),
    ]
    shown: set[str] = set()
    for label, value, field in fields:
        st.markdown(f"**{label}:** {value or '—'}")
        if field not in shown:  # the address evidence once, under the first of its three fields
            shown.add(field)
            for line in by_field.get(field, [])[:5]:
                st.caption(line)
    _render_people(lead)


def _render_people(lead: LeadDetail) -> None:
    """Who the site names, with the role and the page that shows it (an email only where the page shows one)."""
    if not lead.people:
        st.markdown("**People:** —")
        return
    st.markdown("**People:**")
    for person in lead.people:
        role = person.role or person.title or "role not given"
        as_written = f" ({person.title})" if person.title and person.title.lower() != role.lower() else ""
        email = f" · {person.email}" if person.email else " · no email shown"
        st.markdown(f"- {person.name} — {role}{as_written}{email}")
        if person.source_url:
            st.caption(f"[{person.source_url}]({person.source_url}) — “{person.snippet[:160]}”")


def _render_score(lead: LeadDetail) -> None:
    if not lead.score_factors:
        st.info("Not scored yet.")
        return
    st.dataframe(
        pd.DataFrame(
            [{**f, "evidence_ids": ", ".join(map(str, f.get("evidence_ids", [])))} for f in lead.score_factors]
        ),
        hide_index=True,
    )


def _render_contacts(lead: LeadDetail) -> None:
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "kind": c.kind,
                    "value": c.value,
                    "role address": c.is_role_address,
                    "person": c.person_name,
                    "title": c.person_title,
                    "email check": c.verification if c.kind == "email" else "",
                    "why": "; ".join(c.verification_reasons),
                    "checked": c.verified_at,
                }
                for c in lead.contacts
            ]
        ),
        hide_index=True,
    )


def _render_address_recheck(actor: Actor, lead: LeadDetail) -> None:
    """Check one email address again now (DNS asked afresh), e.g. after the domain was fixed."""
    emails = {c.id: c.value for c in lead.contacts if c.kind == "email"}
    if not emails:
        return
    left, right = st.columns([3, 1])
    contact_id = left.selectbox(
        "Check an address again", list(emails), format_func=emails.__getitem__, key=f"lead_recheck_pick_{lead.id}"
    )
    notice_key = f"lead_recheck_notice_{lead.id}"
    if notice := st.session_state.pop(notice_key, None):
        st.info(notice)
    if right.button("Check now", key=f"lead_recheck_{lead.id}"):
        try:
            check = address_checks.verify_contact(actor=actor, contact_id=contact_id)
        except LeadScoutError as error:
            st.error(str(error))
            return
        why = f" ({'; '.join(check.reasons)})" if check.reasons else ""
        st.session_state[notice_key] = f"{check.address}: {check.state}{why}"
        st.rerun()  # the contacts table above shows the new state


def _render_evidence(lead: LeadDetail) -> None:
    st.dataframe(
        pd.DataFrame(
            [
                {"id": e.id, "field": e.field, "value": e.value, "source": e.source_url, "snippet": e.snippet}
                for e in lead.evidence
            ]
        ),
        hide_index=True,
        column_config={"source": st.column_config.LinkColumn("Source")},
    )


def _render_found_by(lead: LeadDetail) -> None:
    for hit in lead.hits:
        st.markdown(f"**“{hit.query}”** (rank {hit.rank}, run {hit.run_id}): [{hit.title or hit.url}]({hit.url})")
        st.caption(hit.snippet)
    if not lead.hits:
        st.caption("Not found by a search (added by hand or from a CSV).")


def _render_messages(lead: LeadDetail) -> None:
    if not lead.messages:
        st.caption("No messages to this lead yet: select it in the table and choose Contact to draft one.")
        return
    st.dataframe(pd.DataFrame([m.__dict__ for m in lead.messages]), hide_index=True)
    if st.button(
        "Open in the message log",
        key=f"leads_messages_log_{lead.id}",
        icon=":material/forum:",
        help="Every message to this lead with its full history: drafted, approved, sent, opened…",
    ):
        st.session_state["outreach_log_lead_id"] = lead.id
        st.switch_page("pages/outreach.py")


def _render_edit_form(actor: Actor, lead: LeadDetail, owners: dict[int, str]) -> None:
    with st.form(f"leads_edit_{lead.id}"):
        status = st.selectbox(
            "Status", LEAD_STATUSES, index=LEAD_STATUSES.index(lead.status), key=f"leads_edit_status_{lead.id}"
        )
        owner_ids = [None, *owners]
        owner = st.selectbox(
            "Owner",
            owner_ids,
            index=owner_ids.index(lead.owner_id) if lead.owner_id in owner_ids else 0,
            format_func=lambda i: "nobody" if i is None else owners[i],
            key=f"leads_edit_owner_{lead.id}",
        )
        tags = st.text_input("Tags (comma-separated)", value=", ".join(lead.tags), key=f"leads_edit_tags_{lead.id}")
        notes = st.text_area("Notes", value=lead.notes, key=f"leads_edit_notes_{lead.id}")
        if st.form_submit_button("Save"):
            with show_errors():
                service.update_lead(
                    actor=actor,
                    lead_id=lead.id,
                    status=status,
                    owner_id=owner,
                    tags=[t for t in tags.split(",") if t.strip()],
                    notes=notes,
                )
                # Draw the page again so the table above shows what was saved.
                st.session_state["leads_notice"] = f"Saved {lead.name or lead.domain} (#{lead.id})."
                st.rerun()
