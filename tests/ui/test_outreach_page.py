"""The Outreach page renders its tabs and shows drafts, the log and the suppression list."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from core.outreach import service, suppression
from tests.conftest import unique
from tests.fixtures.outreach_data import configure_workspace, make_lead


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
    at.run()
    assert not at.exception
    assert [lead[0] for lead in at.multiselect(key="outreach_leads").value] == [chosen]
    at.radio(key="outreach_draft_how").set_value("Draft with AI").run()
    assert not at.exception
    assert any("OpenAI key" in i.value and "templates only" in i.value for i in at.info)
