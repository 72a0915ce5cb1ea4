"""The leads page through AppTest: filter, select, change status, export, import with a bad row, hand off to Outreach."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import team
from core.config import PROJECT_ROOT
from core.leads.query import LeadFilter, list_leads
from core.outreach import service as outreach
from tests.conftest import make_owner, unique
from tests.fixtures.leads_data import lead, make_lead

pytestmark = pytest.mark.usefixtures("run_app_py_on_every_rerun")  # these tests open app.py


def page(actor, **state) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "leads.py"), default_timeout=30)
    at.session_state["actor"] = actor
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def table(at: AppTest):
    return at.dataframe(key="leads_table").value if hasattr(at, "dataframe") else None


def shown_ids(at: AppTest) -> set[int]:
    frames = [d.value for d in at.dataframe if "company" in d.value.columns]
    return set(frames[0]["id"].tolist())


def test_filter_select_change_status_and_export(owner):
    a = make_lead(owner, f"{unique('a')}.com", name="Alpha Roasters", industry="Coffee", score=70.0,
                  emails=("hi@alpha.test",), facts=(("industry", "Coffee", "we roast coffee"),))
    b = make_lead(owner, f"{unique('b')}.com", name="Beta Bakery", industry="Bakery", score=30.0)
    stranger = make_lead(make_owner(), f"{unique('s')}.com", name="Stranger Coffee", industry="Coffee")
    at = page(owner)
    assert not at.exception, at.exception
    assert shown_ids(at) == {a, b}
    at.text_input(key="leads_industry").set_value("coffee").run()
    assert not at.exception
    assert shown_ids(at) == {a}
    assert stranger not in shown_ids(at)

    at.multiselect(key="leads_selected").set_value([a]).run()
    assert "1 selected" in " ".join(m.value for m in at.markdown)
    at.selectbox(key="leads_bulk_status").set_value("qualified")
    at.button(key="leads_bulk_status_go").click().run()
    assert not at.exception and not at.error
    assert lead(a).status == "qualified" and lead(b).status == "new"

    at.selectbox(key="leads_open").set_value(a).run()
    assert not at.exception
    assert any("Alpha Roasters" in s.value for s in at.subheader)
    at.selectbox(key=f"leads_edit_status_{a}").set_value("contacted")
    at.text_input(key=f"leads_edit_tags_{a}").set_value("vip, north")
    at.button[[b.label for b in at.button].index("Save")].click().run()
    assert not at.exception and not at.error
    assert lead(a).status == "contacted" and lead(a).tags == ["vip", "north"]

    at.button(key="leads_export_go").click().run()
    data = at.session_state["leads_export_data"]
    text = data.decode()
    assert "Alpha Roasters" in text and "Beta Bakery" not in text and "Stranger" not in text


def test_import_with_a_bad_row_shows_the_row_and_reason():
    actor = make_owner()
    tag = unique("imp")
    data = f"Company,Website,Email\nGood Co,{tag}-good.com,ann@{tag}-good.com\nBad Co,{tag}-bad.com,not-an-email\n".encode()
    at = page(actor, leads_import_data=("people.csv", data))
    assert not at.exception
    mapped = {s.key.rsplit("_", 1)[-1]: s.value for s in at.selectbox if s.key.startswith("leads_map_")}
    assert mapped["email"] == "Email"
    at.button(key="leads_import_go").click().run()
    assert not at.exception
    assert "1 imported" in at.success[0].value and "1 rejected" in at.success[0].value
    rejected = [d.value for d in at.dataframe if "reason" in d.value.columns][0]
    assert rejected["row"].tolist() == [2]
    assert "not-an-email" in rejected["reason"].iloc[0] and rejected["Company"].iloc[0] == "Bad Co"
    assert list_leads(actor=actor, flt=LeadFilter(text=tag)).total == 1


def test_contact_hands_the_selected_leads_to_outreach_and_nothing_from_another_workspace(owner):
    other = make_owner()
    team.add_member(actor=other, email=owner.email, role="member")  # one person, two workspaces
    a = make_lead(owner, f"{unique('a')}.com", name="Alpha Roasters", emails=(f"{unique('ann')}@alpha.test",))
    b = make_lead(owner, f"{unique('b')}.com", name="Beta Bakery", emails=(f"{unique('bob')}@beta.test",))
    make_lead(owner, f"{unique('c')}.com", name="Gamma Garage", emails=(f"{unique('cy')}@gamma.test",))
    stranger = make_lead(other, f"{unique('s')}.com", name="Stranger Coffee", emails=(f"{unique('sam')}@s.test",))
    outreach.save_template(actor=owner, name="Intro", channel="email", subject="Hi", body="Hello {{ company }}")

    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=30).run()
    at.text_input(key="signin_email").set_value(owner.email)
    at.text_input(key="signin_password").set_value("correct horse battery")
    at.button[0].click().run()
    at.run()  # back from the sign-in hand-off
    at.selectbox(key="app_workspace_id").set_value(other.workspace_id).run()
    at.switch_page("pages/leads.py").run()
    at.multiselect(key="leads_selected").set_value([stranger]).run()
    assert "1 selected" in " ".join(m.value for m in at.markdown)
    at.selectbox(key="app_workspace_id").set_value(owner.workspace_id).run()
    assert not at.exception
    assert at.multiselect(key="leads_selected").value == []  # the other workspace's selection is dropped
    assert not any("Stranger" in o for o in at.multiselect(key="leads_selected").options)

    at.multiselect(key="leads_selected").set_value([a, b]).run()
    at.button(key="leads_bulk_contact").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == ":material/send: Outreach"
    picker = at.multiselect(key="outreach_leads")
    assert picker.value == [a, b]  # lead ids
    assert not any("Stranger" in o for o in picker.options)
    previews = [e.label for e in at.expander]
    assert len(previews) == 2
    assert previews[0].startswith("Alpha Roasters — ann") and previews[1].startswith("Beta Bakery — bob")


def test_a_leads_messages_open_in_the_message_log(owner):
    from tests.fixtures import outreach_data

    outreach_data.configure_workspace(owner)
    written = outreach_data.make_lead(owner, email=f"{unique('m')}@example.test", name="Written Bakery")
    quiet = outreach_data.make_lead(owner, email=f"{unique('q')}@example.test", name="Quiet Bakery")
    [message] = outreach_data.draft_and_queue(owner, [written])

    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=30).run()
    at.text_input(key="signin_email").set_value(owner.email)
    at.text_input(key="signin_password").set_value("correct horse battery")
    at.button[0].click().run()
    at.run()  # back from the sign-in hand-off
    at.switch_page("pages/leads.py").run()
    at.selectbox(key="leads_open").set_value(quiet).run()
    assert not at.exception
    assert any("No messages to this lead yet" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == f"leads_messages_log_{quiet}"]

    at.selectbox(key="leads_open").set_value(written).run()
    at.button(key=f"leads_messages_log_{written}").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == ":material/send: Outreach"
    assert at.session_state["outreach_tab"] == "Message log"
    assert at.selectbox(key="outreach_log_lead").value == written
    assert [m.value.split(" ·")[0] for m in at.markdown if m.value.startswith("**#")] == [f"**#{message}"]


def test_technology_category_filter_on_the_page(owner):
    """Issue 14: "shops" and "no online shop" from the category picker and its toggle."""
    shop = make_lead(owner, f"{unique('shop')}.com", name="Shop Co", tech=["Shopify", "Google Analytics"])
    blog = make_lead(owner, f"{unique('blog')}.com", name="Blog Co", tech=["WordPress"])
    at = page(owner)
    at.selectbox(key="leads_tech_category").set_value("e-commerce").run()
    assert not at.exception, at.exception
    assert shown_ids(at) == {shop}
    at.toggle(key="leads_tech_absent").set_value(True).run()
    assert not at.exception
    assert shown_ids(at) == {blog}


def test_the_lead_detail_shows_the_people_the_site_names_with_role_email_and_evidence(owner):
    """Issue 14 section 5: people with roles on the lead detail; an email only where the page showed one."""
    from core.db import UnitOfWork
    from core.db.models import Lead
    from core.leads.repository import add_person

    domain = f"{unique('fraesen')}.de"
    facts = (
        ("person", "Anna Schmidt (managing director)", "Geschäftsführer: Dr. Hans Müller, Anna Schmidt"),
        ("person", "Dr. Hans Müller (managing director)", "Geschäftsführer: Dr. Hans Müller, Anna Schmidt"),
    )
    lead_id = make_lead(owner, domain, name="Muster Fräsen GmbH", facts=facts)
    with UnitOfWork() as uow:
        row = uow.session.get(Lead, lead_id)
        add_person(uow, lead=row, name="Anna Schmidt", title="Geschäftsführer", email=f"a.schmidt@{domain}")
        add_person(uow, lead=row, name="Dr. Hans Müller", title="Geschäftsführer")
        uow.commit()
    at = page(owner)
    at.selectbox(key="leads_open").set_value(lead_id).run()
    assert not at.exception, at.exception
    shown = [m.value for m in at.markdown]
    assert f"- Anna Schmidt — managing director (Geschäftsführer) · a.schmidt@{domain}" in shown
    assert "- Dr. Hans Müller — managing director (Geschäftsführer) · no email shown" in shown
    assert any(f"https://{domain}/" in c.value and "Geschäftsführer: Dr. Hans Müller" in c.value for c in at.caption)


def test_email_check_filter_and_the_contact_recheck(owner, session_dns):
    """Issue 16: the address check's state is a filter, and shown (with a re-check) on the lead's contacts."""
    gone = f"{unique('gone')}.test"
    session_dns.zones.nxdomain.add(gone)
    good = make_lead(owner, f"{unique('g')}.com", name="Good Co", emails=(f"ana@{unique('ok')}.example.test",))
    bad = make_lead(owner, f"{unique('x')}.com", name="Gone Co", emails=(f"bob@{gone}",))
    at = page(owner)
    at.selectbox(key="leads_email_check").set_value("invalid").run()
    assert not at.exception, at.exception
    assert shown_ids(at) == set()  # nothing checked yet: both unknown
    at.selectbox(key="leads_email_check").set_value("unknown").run()
    assert shown_ids(at) == {good, bad}

    at.selectbox(key="leads_open").set_value(bad).run()
    at.button(key=f"lead_recheck_{bad}").click().run()
    assert not at.exception, at.exception
    assert any("invalid" in i.value and "NXDOMAIN" in i.value for i in at.info)
    contacts = next(d.value for d in at.dataframe if "email check" in d.value.columns)
    assert contacts["email check"].tolist() == ["invalid"]
    at.selectbox(key="leads_email_check").set_value("invalid").run()
    assert shown_ids(at) == {bad}
