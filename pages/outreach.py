"""Outreach: templates, drafts and approval, one-click send, the message log, the suppression list."""

from __future__ import annotations

import hashlib

import streamlit as st

from core.outreach import guard, limits, message_log, preflight, sending_settings, service, suppression
from core.outreach.channels import email_provider_name, sms_provider_name
from core.outreach.templates import sms_segments
from ui.common import current_actor, show_errors
from ui.outreach_ai import render_ai_drafting
from ui.outreach_consent import render_consent_form, show_consent_notice
from ui.outreach_log import render_message_log
from ui.outreach_queue import render_queue
from ui.outreach_review import render_draft_review

actor = current_actor()
st.title(":material/send: Outreach")
st.caption(
    f"Email goes through **{email_provider_name()}**, SMS through **{sms_provider_name()}**"
    " (outbox = recorded only, never sent)."
)
# The bounce guard: a paused sender says so on top of the page, and only an admin's deliberate click resumes it.
for paused in guard.list_paused_senders(actor=actor):
    st.error(paused.message, icon=":material/pause_circle:")
    if actor.can_manage_team:  # owners and admins
        sure = st.checkbox(
            f"I checked the list and the provider: resume {paused.channel} through {paused.provider}",
            key=f"outreach_resume_sure_{paused.id}",
        )
        if st.button("Resume sending", disabled=not sure, key=f"outreach_resume_{paused.id}"):
            with show_errors():
                guard.resume_sender(actor=actor, pause_id=paused.id)
                st.rerun()
if st.session_state.get("outreach_log_lead_id") is not None:  # sent here from a lead: open its message history
    st.session_state["outreach_tab"] = "Message log"
if st.session_state.pop("outreach_open_drafts", False):  # the leads page's "Contact": draft to its selection
    st.session_state["outreach_tab"] = "Drafts & approval"
    st.session_state["outreach_leads"] = list(st.session_state.get("outreach_lead_ids") or [])
templates_tab, drafts_tab, log_tab, suppression_tab, settings_tab = st.tabs(
    ["Templates", "Drafts & approval", "Message log", "Suppression list", "Sending rules"],
    key="outreach_tab",
    on_change="rerun",
)

with templates_tab:
    existing = service.list_templates(actor=actor)
    choice = st.selectbox(
        "Template",
        [None, *existing],
        format_func=lambda t: "New template" if t is None else t.name,
        key="outreach_template_pick",
    )
    with st.form("outreach_template_form"):
        name = st.text_input("Name", value=choice.name if choice else "")
        channel = st.radio(
            "Channel", ["email", "sms"], horizontal=True, index=0 if not choice or choice.channel == "email" else 1
        )
        subject = st.text_input("Subject (email)", value=choice.subject if choice else "Hi {{ first_name }}")
        body = st.text_area(
            "Body",
            value=choice.body if choice else "",
            height=200,
            help="Fields: company, industry, location, hook, technologies, ...; the addressed person: "
            "contact.first_name, contact.name, contact.role (owner, managing director, ...), contact.title",
        )
        if channel == "sms" and body:
            seg = sms_segments(body)
            st.caption(f"{seg.characters} characters, {seg.encoding}, {seg.segments} segment(s) before filling fields")
        if st.form_submit_button("Save template"):
            with show_errors():
                service.save_template(
                    actor=actor,
                    name=name,
                    channel=channel,
                    subject=subject,
                    body=body,
                    template_id=choice.id if choice else None,
                )
                st.success("Saved.")

with drafts_tab:
    incoming = st.session_state.get("outreach_lead_ids")  # set by the leads page's "Contact" action
    leads = {
        lead_id: f"{name} ({status}, #{lead_id})"
        for lead_id, name, status in service.leads_for_outreach(actor=actor, include=list(incoming or []))
    }
    st.session_state["outreach_leads"] = [i for i in st.session_state.get("outreach_leads") or [] if i in leads]
    lead_ids = st.multiselect("Leads", list(leads), format_func=lambda i: leads.get(i, f"#{i}"), key="outreach_leads")
    how = st.radio("Draft", ["From a template", "Draft with AI"], horizontal=True, key="outreach_draft_how")
    if how == "Draft with AI":
        render_ai_drafting(actor, lead_ids)
    templates = service.list_templates(actor=actor) if how == "From a template" else []
    template = (
        st.selectbox("Template", templates, format_func=lambda t: f"{t.name} ({t.channel})", key="outreach_tpl")
        if how == "From a template"
        else None
    )
    if template and lead_ids:
        for row in service.preview(actor=actor, template_id=template.id, lead_ids=lead_ids):
            with st.expander(f"{row.lead_name} — {row.contact or 'no contact'}"):
                if row.missing or row.error:
                    st.warning(row.error or "Missing: " + ", ".join(row.missing))
                else:
                    st.text(f"{row.subject}\n\n{row.body}")
                    if row.segments:
                        st.caption(f"{row.segments.encoding}, {row.segments.segments} segment(s)")
        if st.button("Create drafts", type="primary", key="outreach_make_drafts"):
            with show_errors():
                outcome = service.create_drafts(actor=actor, template_id=template.id, lead_ids=lead_ids)
                st.success(f"{len(outcome.created)} drafts created.")
                for lead_id, reason in outcome.skipped:
                    st.info(f"Lead {lead_id} skipped: {reason}")
    drafts = message_log.list_messages(actor=actor, status="draft")
    approved = message_log.list_messages(actor=actor, status="approved")
    st.subheader(f"Drafts ({len(drafts)})")
    for m in drafts:
        if m.flags:
            st.warning(f"#{m.id} {m.lead_name}: edit before approving — no evidence for: " + " | ".join(m.flags))
    render_draft_review(actor, drafts + approved)
    # Options are message ids; the picker is keyed by the drafts it offers, so once the list changes (approved
    # here, in another tab or by someone else) it starts empty and never offers a message that left it.
    draft_labels = {m.id: f"#{m.id} {m.lead_name} · {m.subject or m.body[:40]}" for m in drafts}
    drafts_key = hashlib.sha256(",".join(map(str, draft_labels)).encode()).hexdigest()[:16]
    to_approve = st.multiselect(
        "Approve",
        list(draft_labels),
        format_func=lambda i: draft_labels.get(i, f"#{i}"),
        key=f"outreach_approve_pick_{drafts_key}",
    )
    if st.button("Approve selected", disabled=not to_approve, key="outreach_approve"):
        count, refused = service.approve(actor=actor, message_ids=list(to_approve))
        st.session_state["outreach_approved_notice"] = (count, refused)
        st.rerun()  # the approved messages move to the send list below
    if notice := st.session_state.pop("outreach_approved_notice", None):
        st.success(f"{notice[0]} approved.")
        for message_id, reason in notice[1]:
            st.warning(f"#{message_id}: {reason}")
    st.subheader(f"Approved, ready to send ({len(approved)})")
    # The preflight says what would certainly fail before anything is sent; only the messages it clears go.
    check = preflight.preflight(actor=actor, message_ids=[m.id for m in approved])
    numbers = {t.message_id: t.contact for t in check.targets}
    show_consent_notice()
    for problem in check.problems:
        where = f"#{problem.message_id}: " if problem.message_id is not None else f"All {problem.channel}: "
        (st.error if problem.blocking else st.info)(f"{where}{problem.what} {problem.fix}")
        if problem.contact_id is not None and problem.message_id is not None:
            render_consent_form(actor, problem.contact_id, numbers.get(problem.message_id, ""))
    ready = check.ready
    if len(ready) < len(approved):
        st.warning(f"{len(approved) - len(ready)} message(s) held back until the problems above are fixed.")
    risky_ids = check.risky_ids
    include_risky = bool(risky_ids) and st.checkbox(
        f"Also send to the {len(risky_ids)} risky address(es) listed above",
        key="outreach_include_risky",
    )
    if not include_risky:
        ready = [t for t in ready if t.message_id not in risky_ids]
    names = ", ".join(f"#{t.message_id} {t.lead_name} ({t.contact})" for t in ready[:5])
    ready_key = hashlib.sha256(",".join(str(t.message_id) for t in ready).encode()).hexdigest()[:16]
    confirm = st.checkbox(
        f"Yes, send {len(ready)} message(s) now: {names}" + (f" and {len(ready) - 5} more" if len(ready) > 5 else ""),
        key=f"outreach_confirm_{ready_key}",
        disabled=not ready,
    )
    if st.button("Send", type="primary", disabled=not (ready and confirm), key="outreach_send"):
        with show_errors():
            job_id = service.send_now(
                actor=actor, message_ids=[t.message_id for t in ready], include_risky=include_risky
            )
            st.session_state["outreach_sent_notice"] = job_id
            st.rerun()  # the approved list empties and the queue below shows them
    if (job_id := st.session_state.pop("outreach_sent_notice", "none")) != "none":
        st.success(f"Sending in the background (job {job_id}); follow it below and in the message log.")
    render_queue(actor, sending_settings.get_outreach_settings(actor=actor).get("timezone") or "UTC")

with log_tab:
    render_message_log(actor)

with suppression_tab:
    with st.form("outreach_suppress_form"):
        kind = st.radio("Channel", ["email", "sms"], horizontal=True)
        address = st.text_input("Address or phone number")
        if st.form_submit_button("Suppress"):
            with show_errors():
                suppression.add_suppression(actor=actor, channel=kind, address=address)
                st.success("Suppressed.")
    upload = st.file_uploader("Import CSV (address[, channel][, reason])", type="csv", key="outreach_supp_upload")
    if upload is not None and st.button("Import", key="outreach_supp_import"):
        with show_errors():
            added, problems = suppression.import_suppressions_csv(
                actor=actor, text=upload.getvalue().decode("utf-8", "replace")
            )
            st.success(f"{added} added.")
            for line, problem in problems:
                st.warning(f"Line {line}: {problem}")
    st.download_button(
        "Export CSV",
        suppression.export_suppressions_csv(actor=actor),
        file_name="suppressions.csv",
        key="outreach_supp_export",
    )
    st.dataframe([vars(row) for row in suppression.list_suppressions(actor=actor)], hide_index=True)

with settings_tab:
    current = sending_settings.get_outreach_settings(actor=actor)
    with st.form("outreach_rules_form"):
        postal = st.text_area("Postal address (added to every email)", value=current.get("postal_address") or "")
        from_col, name_col = st.columns(2)
        from_email = from_col.text_input(
            "From address",
            value=current.get("from_email") or "",
            help="A mailbox you read: replies and bounces come back here. Empty: OUTREACH_FROM_EMAIL or the SMTP user.",
        )
        from_name = name_col.text_input("From name", value=current.get("from_name") or "")
        timezone = st.text_input("Workspace time zone", value=current.get("timezone") or "UTC")
        consent = st.checkbox(
            "Require recorded consent before SMS", value=current.get("sms_consent_required", True) is not False
        )
        if not consent:
            st.warning(
                "SMS without recorded consent may break the law where your prospects live (TCPA, GDPR/ePrivacy)."
            )
        start, end = current.get("send_window") or (8, 20)
        hours = st.slider(
            "Send between these hours, in each recipient's local time",
            0,
            24,
            (int(start), int(end)),
            key="outreach_rules_hours",
        )
        day_names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        days = st.multiselect(
            "On these days",
            list(range(7)),
            default=list(current.get("send_weekdays") or range(5)),
            format_func=lambda d: day_names[d],
            key="outreach_rules_days",
        )
        if not days:
            st.warning("No sending days: approved messages wait in the queue until you choose some.")
        per_day = (
            "At most this many {what} per day from this workspace's {sender}, counted from midnight in the "
            "workspace time zone. Messages over the cap stay queued and go out the next day. 0 = no cap."
        )
        email_col, sms_col = st.columns(2)
        email_cap = email_col.number_input(
            "Daily email cap (per sender)",
            min_value=0,
            step=1,
            value=limits.daily_cap(current, "email") or 0,
            key="outreach_rules_email_cap",
            help=per_day.format(what="emails", sender="email provider account or mailbox"),
        )
        sms_cap = sms_col.number_input(
            "Daily SMS cap (per sender)",
            min_value=0,
            step=1,
            value=limits.daily_cap(current, "sms") or 0,
            key="outreach_rules_sms_cap",
            help=per_day.format(what="texts", sender="SMS number"),
        )
        if st.form_submit_button("Save rules"):
            with show_errors():
                sending_settings.update_outreach_settings(
                    actor=actor,
                    postal_address=postal,
                    from_email=from_email.strip(),
                    from_name=from_name.strip(),
                    timezone=timezone,
                    sms_consent_required=consent,
                    send_window=list(hours),
                    send_weekdays=sorted(days),
                    daily_caps={"email": email_cap, "sms": sms_cap},
                )
                st.success("Saved.")
