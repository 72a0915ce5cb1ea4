"""The Outreach page renders its tabs and shows drafts, the log and the suppression list."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from core.outreach import limits, sending_settings, service, suppression
from tests.conftest import make_owner, unique
from tests.fixtures.outreach_data import configure_workspace, draft_and_queue, make_lead


def test_outreach_page_shows_drafts_and_suppressions(owner):
    configure_workspace(owner)
    lead_id = make_lead(owner, email=f"{unique('p')}@example.test")
    template_id = service.save_template(actor=owner, name="Intro", channel="email", subject="Hi {{ first_name }}",
                                        body="Hello {{ company }}")
    service.create_drafts(actor=owner, template_id=template_id, lead_ids=[lead_id])
    suppression.add_suppression(actor=owner, channel="email", address="gone@example.test")
    at = AppTest.from_file(str(PROJECT_ROOT / "pages/outreach.py"), default_timeout=30)
    at.session_state["actor"] = owner
    at.run()
    assert not at.exception
    assert [t.label for t in at.tabs][:4] == ["Templates", "Drafts & approval", "Message log", "Suppression list"]
    assert any("Drafts (1)" in h.value for h in at.subheader)
    assert any("outbox" in c.value for c in at.caption)


def test_leads_chosen_on_the_leads_page_are_preselected_and_ai_needs_a_key(owner):
    configure_workspace(owner)
    chosen = make_lead(owner, email=f"{unique('c')}@example.test", name="Chosen Bakery")
    make_lead(owner, email=f"{unique('o')}@example.test", name="Other Bakery")
    at = AppTest.from_file(str(PROJECT_ROOT / "pages/outreach.py"), default_timeout=30)
    at.session_state["actor"] = owner
    at.session_state["outreach_lead_ids"] = [chosen]
    at.session_state["outreach_open_drafts"] = True  # what the leads page's Contact sets
    at.run()
    assert not at.exception
    assert at.multiselect(key="outreach_leads").value == [chosen]  # lead ids, not (id, name, status) rows
    at.radio(key="outreach_draft_how").set_value("Draft with AI").run()
    assert not at.exception
    assert any("OpenAI key" in i.value and "templates only" in i.value for i in at.info)


def page(actor, **state) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages/outreach.py"), default_timeout=30)
    at.session_state["actor"] = actor
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def click(at: AppTest, label: str) -> AppTest:
    return next(b for b in at.button if b.label == label).click().run()


def test_daily_caps_are_changed_on_the_sending_rules_tab(owner):
    at = page(owner)
    assert not at.exception
    email_cap, sms_cap = at.number_input(key="outreach_rules_email_cap"), at.number_input(key="outreach_rules_sms_cap")
    assert (email_cap.value, sms_cap.value) == (limits.DEFAULT_DAILY_CAPS["email"], limits.DEFAULT_DAILY_CAPS["sms"])
    assert "0 = no cap" in email_cap.help and "workspace time zone" in sms_cap.help

    email_cap.set_value(250)
    sms_cap.set_value(0)
    at = click(at, "Save rules")
    assert not at.exception and not at.error
    assert any(s.value == "Saved." for s in at.success)
    assert sending_settings.get_outreach_settings(actor=owner)["daily_caps"] == {"email": 250, "sms": 0}

    at.number_input(key="outreach_rules_email_cap").set_value(sending_settings.MAX_DAILY_CAP + 1)
    at = click(at, "Save rules")
    assert any("daily email cap must be a whole number from 0 (no cap) to 100,000" in e.value for e in at.error)
    assert sending_settings.get_outreach_settings(actor=owner)["daily_caps"] == {"email": 250, "sms": 0}


def test_the_lead_filter_shows_every_message_to_the_lead_with_its_history(owner):
    configure_workspace(owner)
    lead = make_lead(owner, email=f"{unique('l')}@example.test", phone="+4915100000888", name="Filter Bakery")
    other = make_lead(owner, email=f"{unique('o')}@example.test", name="Other Bakery")
    [email] = draft_and_queue(owner, [lead])
    [sms] = draft_and_queue(owner, [lead], channel="sms", body="Hi {{ company }}")
    [elsewhere] = draft_and_queue(owner, [other])
    stranger = make_owner()
    configure_workspace(stranger)
    foreign = make_lead(stranger, email=f"{unique('f')}@example.test")
    draft_and_queue(stranger, [foreign])

    at = page(owner, outreach_log_lead_id=lead)  # as a lead's page hands it over
    assert not at.exception
    assert at.session_state["outreach_tab"] == "Message log"
    assert at.selectbox(key="outreach_log_lead").value == lead
    assert "outreach_log_lead_id" not in at.session_state  # taken once; the filter keeps the choice
    assert at.selectbox(key="outreach_log_lead").options == ["All leads", f"Other Bakery (#{other})",
                                                             f"Filter Bakery (#{lead})"]
    headings = [m.value for m in at.markdown if m.value.startswith("**#")]
    assert [h.split(" ·")[0] for h in headings] == [f"**#{email}", f"**#{sms}"]
    assert "email to" in headings[0] and "sms to" in headings[1]
    statuses = [list(t.value["status"]) for t in at.table]
    assert statuses == [["draft", "approved", "queued"], ["draft", "approved", "queued"]]
    assert at.selectbox(key="outreach_log_status").disabled

    at.selectbox(key="outreach_log_lead").set_value(other).run()
    assert not at.exception
    assert [m.value.split(" ·")[0] for m in at.markdown if m.value.startswith("**#")] == [f"**#{elsewhere}"]

    at.selectbox(key="outreach_log_lead").set_value(None).run()
    assert not at.exception and not at.selectbox(key="outreach_log_status").disabled
    assert not [m for m in at.markdown if m.value.startswith("**#")]

    at = page(owner, outreach_log_lead_id=foreign)  # another workspace's lead: nothing of it is shown
    assert not at.exception
    assert at.selectbox(key="outreach_log_lead").value is None
    assert any("not in this workspace" in w.value for w in at.warning)
    assert not [o for o in at.selectbox(key="outreach_log_lead").options if f"(#{foreign})" in o]


def test_the_send_confirmation_lists_preflight_problems_and_counts_only_ready_messages(owner):
    configure_workspace(owner)
    email_lead = make_lead(owner, email=f"{unique('pe')}@example.test")
    sms_lead = make_lead(owner, phone="+4915112340000", consent=False)
    ids = []
    for channel, lead_id in (("email", email_lead), ("sms", sms_lead)):
        template_id = service.save_template(actor=owner, name=unique("tpl"), channel=channel,
                                            subject="Hi" if channel == "email" else "", body="Hello {{ company }}")
        ids += list(service.create_drafts(actor=owner, template_id=template_id, lead_ids=[lead_id]).created)
    assert service.approve(actor=owner, message_ids=ids)[0] == 2
    at = AppTest.from_file(str(PROJECT_ROOT / "pages/outreach.py"), default_timeout=30)
    at.session_state["actor"] = owner
    at.run()
    assert not at.exception
    assert any(f"#{ids[1]}: No SMS consent" in e.value for e in at.error)
    (confirm,) = [c for c in at.checkbox if c.label.startswith("Yes, send")]
    assert confirm.label.startswith(f"Yes, send 1 message(s) now: #{ids[0]} ")  # it names the one it sends


def confirm_box(at):
    """The send confirmation (keyed by the messages it names, so found by its label)."""
    (box,) = [c for c in at.checkbox if c.label.startswith("Yes, send")]
    return box


def approved_emails(actor, addresses: list[str]) -> list[int]:
    leads = [make_lead(actor, email=address) for address in addresses]
    template_id = service.save_template(actor=actor, name=unique("tpl"), channel="email", subject="Hi",
                                        body="Hello {{ company }}")
    ids = list(service.create_drafts(actor=actor, template_id=template_id, lead_ids=leads).created)
    assert service.approve(actor=actor, message_ids=ids)[0] == len(ids)
    return ids


def test_risky_addresses_are_sent_only_after_their_own_confirmation_and_invalid_ones_never(owner, session_dns):
    from sqlalchemy import select

    from core.db import UnitOfWork
    from core.db.models import Message

    gone = f"{unique('gone')}.test"
    session_dns.zones.nxdomain.add(gone)
    configure_workspace(owner)
    ok, bad, risky = approved_emails(
        owner, [f"{unique('ok')}@example.test", f"ana@{gone}", f"{unique('r')}@mailinator.com"]
    )
    at = page(owner)
    assert not at.exception
    assert any(f"#{bad}:" in e.value and "failed the address check" in e.value for e in at.error)
    assert any(f"#{risky}:" in i.value and "disposable-mail domain" in i.value for i in at.info)
    assert confirm_box(at).label.startswith(f"Yes, send 1 message(s) now: #{ok} ")  # the risky one waits
    at.checkbox(key="outreach_include_risky").check().run()
    assert confirm_box(at).label.startswith(f"Yes, send 2 message(s) now: #{ok} ")
    assert f"#{risky} " in confirm_box(at).label
    confirm_box(at).check().run()
    click(at, "Send")
    assert not at.exception
    with UnitOfWork() as uow:
        found = dict(uow.session.execute(select(Message.id, Message.status).where(Message.id.in_([ok, bad, risky]))).all())
    assert found[bad] == "approved"  # never queued
    assert found[ok] != "approved" and found[risky] != "approved"  # both went to the queue (or out already)


def test_a_paused_sender_is_shown_and_only_an_admin_resumes_it_deliberately(owner):
    from core.auth import service as auth
    from core.auth import team
    from core.db import UnitOfWork
    from core.db.models import SenderPause, utcnow
    from core.outreach import guard
    from tests.conftest import invitation_token

    with UnitOfWork() as uow:  # what guard.check_sender leaves after too many bounces (its own test covers that)
        uow.session.add(SenderPause(workspace_id=owner.workspace_id, channel="email", provider="smtp", paused=True,
                                    reason="4 of its last 100 emails hard-bounced (the limit is 3%: more than 3).",
                                    paused_at=utcnow()))
        uow.commit()
    member_email = f"{unique('m')}@example.test"
    team.add_member(actor=owner, email=member_email, role="member")
    auth.sign_up(email=member_email, password="correct horse battery",
                 invite_token=invitation_token(owner, member_email))
    signed = auth.sign_in(email=member_email, password="correct horse battery")
    member = auth.actor_for(user_id=signed.user_id, workspace_id=owner.workspace_id)

    seen = page(member)
    assert not seen.exception
    assert any("Sending email through smtp is paused" in e.value and "hard-bounced" in e.value for e in seen.error)
    assert not [b for b in seen.button if b.label == "Resume sending"]  # members see it, cannot resume

    at = page(owner)
    resume = next(b for b in at.button if b.label == "Resume sending")
    assert resume.disabled  # needs the "I checked" box first
    next(c for c in at.checkbox if c.label.startswith("I checked the list")).check().run()
    click(at, "Resume sending")
    assert not at.exception
    assert not any("is paused" in e.value for e in at.error)
    assert guard.list_paused_senders(actor=owner) == []
