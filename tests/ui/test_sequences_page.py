"""The Sequences page and the leads table's "Enrol in sequence", through AppTest: a sequence built in the
editor, the enrolment preview naming who is skipped and why, and per-contact buttons keyed by enrolment id."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from core.outreach import sender
from core.outreach import service as outreach
from core.sequences import advance, enrolment, funnel
from core.sequences import service as sequences
from core.sequences.models import StepInput
from tests.conftest import unique
from tests.fixtures.outreach_data import configure_workspace, make_lead


def page(actor, name: str, **state) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / name), default_timeout=30)
    at.session_state["actor"] = actor
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def email_template(actor) -> int:
    return outreach.save_template(actor=actor, name=unique("tpl"), channel="email", subject="Hello {{ company }}",
                                  body="Hi {{ first_name }}")


def text(at: AppTest) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_a_sequence_is_built_in_the_editor_and_paused_from_the_page(owner):
    configure_workspace(owner)
    first, follow_up = email_template(owner), email_template(owner)
    at = page(owner, "sequences.py")
    assert not at.exception, at.exception
    at.text_input(key="seq_new_name").set_value("Bakeries Q1")
    at.number_input(key="seq_new_count").set_value(2).run()
    at.selectbox(key="seq_new_1_template").set_value(first)
    at.selectbox(key="seq_new_2_template").set_value(follow_up)
    at.number_input(key="seq_new_2_delay").set_value(4)
    at.button(key="seq_new_save").click().run()
    assert not at.exception, at.exception
    [saved] = sequences.list_sequences(actor=owner)
    assert saved.name == "Bakeries Q1"
    assert [(s.position, s.template_id, s.delay_days, s.subject) for s in saved.steps] == [
        (1, first, 0, ""), (2, follow_up, 4, "")]
    at = page(owner, "sequences.py")
    at.button(key=f"sequences_toggle_{saved.id}").click().run()
    assert sequences.get_sequence_or_raise(actor=owner, sequence_id=saved.id).status == "paused"


def test_enrol_from_the_leads_table_says_who_is_skipped_then_the_page_lists_them(owner):
    configure_workspace(owner)
    sequence_id = sequences.save_sequence(actor=owner, name=unique("seq"),
                                          steps=[StepInput(channel="email", template_id=email_template(owner))])
    reachable = make_lead(owner, email=f"{unique('a')}@customer.example", name="Alpha Roasters")
    unreachable = make_lead(owner, phone="+493099998888", name="Beta Bakery")
    at = page(owner, "leads.py")
    assert not at.exception, at.exception
    at.multiselect(key="leads_selected").set_value([reachable, unreachable]).run()
    assert at.selectbox(key="leads_enrol_sequence").value == sequence_id
    assert "1 will be enrolled" in text(at) and "1 skipped: 1 no usable email address" in text(at)
    assert enrolment.list_enrollments(actor=owner, sequence_id=sequence_id) == []  # the preview enrols nobody
    [go] = [b for b in at.button if b.key and b.key.startswith(f"leads_enrol_go_{sequence_id}_")]
    go.click().run()
    assert not at.exception, at.exception
    [row] = enrolment.list_enrollments(actor=owner, sequence_id=sequence_id)
    assert (row.lead_id, row.status) == (reachable, "active")

    at = page(owner, "sequences.py", sequences_open=sequence_id)
    assert not at.exception, at.exception
    assert "Alpha Roasters" in text(at)
    at.button(key=f"sequences_enr_toggle_{row.id}").click().run()
    assert enrolment.list_enrollments(actor=owner, sequence_id=sequence_id)[0].status == "paused"
    at.button(key=f"sequences_enr_remove_{row.id}").click().run()
    [gone] = enrolment.list_enrollments(actor=owner, sequence_id=sequence_id)
    assert (gone.status, gone.reason) == ("left", "manual")
    [steps] = [d.value for d in at.dataframe if "unsubscribed" in d.value.columns]
    assert steps["step"].tolist() == [1] and steps["sent"].tolist() == [0]


def test_insights_shows_each_sequence_funnel_once_a_step_went_out(owner):
    configure_workspace(owner)
    sequence_id = sequences.save_sequence(actor=owner, name=unique("seq"),
                                          steps=[StepInput(channel="email", template_id=email_template(owner))])
    lead_id = make_lead(owner, email=f"{unique('a')}@customer.example", name="Alpha Roasters")
    enrolment.enrol(actor=owner, sequence_id=sequence_id, lead_ids=[lead_id])
    at = page(owner, "insights.py")
    assert not at.exception, at.exception
    assert "Sequence funnels appear once" in text(at)
    advance.advance_due()
    assert sender.send_queued(workspace_id=owner.workspace_id).sent == 1  # the outbox: recorded, not delivered
    at = page(owner, "insights.py")
    assert not at.exception, at.exception
    charts = [c for c in at.get("plotly_chart") if f"insights_sequence_{sequence_id}" in str(c.proto.id)]
    assert len(charts) == 1
    assert funnel.funnel(actor=owner, sequence_id=sequence_id)[0].sent == 1
