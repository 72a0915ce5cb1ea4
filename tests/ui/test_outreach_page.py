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
