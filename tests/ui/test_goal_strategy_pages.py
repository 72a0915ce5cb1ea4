"""Goal -> Generate -> strategy shown -> edit a query -> save (version 2) -> approve, through AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from core.strategy import service

pytestmark = pytest.mark.usefixtures("run_app_py_on_every_rerun")  # these tests open app.py

GOAL = "Independent bakeries in Leeds and York that cater weddings, not chains"


def page(name: str, actor, **state) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / name), default_timeout=30)
    at.session_state["actor"] = actor
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def signed_in_app(actor) -> AppTest:
    """The whole app (router, sign-in gate, navigation) signed in as ``actor``, on its first page."""
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=30).run()
    at.text_input(key="signin_email").set_value(actor.email)
    at.text_input(key="signin_password").set_value("correct horse battery")
    at.button[0].click().run()
    return at.run()


def test_goal_to_approved_strategy(owner):
    goal = signed_in_app(owner)
    assert not goal.exception
    goal.text_area(key="goal_text").set_value(GOAL)
    goal.button(key="goal_generate").click().run()
    assert not goal.exception and not goal.error
    campaign_id = goal.session_state["strategy_campaign_id"]
    assert goal.data_editor(key=f"strategy_queries_{campaign_id}_1") is not None  # it opened the new strategy
    goal.switch_page("pages/goal.py").run()
    assert "Strategy drafted" in goal.success[0].value
    assert campaign_id in goal.dataframe[0].value["id"].tolist()

    at = page("strategy.py", owner, strategy_campaign_id=campaign_id)
    assert not at.exception and not at.error
    assert any("Heuristic plan" in w.value for w in at.warning)
    editor = at.data_editor(key=f"strategy_queries_{campaign_id}_1")
    first_query = editor.value["text"].iloc[0]
    assert "Leeds" in first_query

    at.session_state[f"strategy_queries_{campaign_id}_1"] = {
        "edited_rows": {0: {"text": "wedding cake bakers Leeds"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    at.button(key="strategy_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Saved version 2" in at.success[0].value
    assert "wedding cake bakers Leeds" in at.success[0].value
    assert at.data_editor(key=f"strategy_queries_{campaign_id}_2").value["text"].iloc[0] == "wedding cake bakers Leeds"

    versions = service.list_versions(actor=owner, campaign_id=campaign_id)
    assert [v.version for v in versions] == [2, 1]
    assert f"removed '{first_query}'" in versions[0].change_note

    at.selectbox(key=f"strategy_approve_pick_{campaign_id}").set_value(versions[0].id)
    at.button(key="strategy_approve").click().run()
    assert not at.exception and not at.error
    assert "Approved version 2" in at.success[0].value and "paste the websites" in at.success[0].value
    campaign = service.get_campaign_or_raise(actor=owner, campaign_id=campaign_id)
    assert (campaign.status, campaign.approved_version_id) == ("approved", versions[0].id)
    assert at.text_area(key=f"runs_urls_{campaign_id}") is not None  # the paste-websites form
    assert any("No runs yet" in i.value for i in at.info)


def test_rubric_not_adding_up_to_100_is_refused_with_a_clear_message(owner):
    version = service.create_campaign_from_goal(actor=owner, goal="Plumbers in Bristol", llm=None)
    at = page("strategy.py", owner, strategy_campaign_id=version.campaign_id)
    at.session_state[f"strategy_rubric_{version.campaign_id}_1"] = {
        "edited_rows": {0: {"weight": 5}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    assert any("must add up to 100" in e.value for e in at.error)
    at.button(key="strategy_save").click().run()
    assert any("rubric weights must add up to 100" in e.value for e in at.error)
    assert [v.version for v in service.list_versions(actor=owner, campaign_id=version.campaign_id)] == [1]


def test_pages_need_an_actor():
    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "goal.py"), default_timeout=30).run()
    assert any("Sign in" in w.value for w in at.warning)


def _rubric_of_latest(actor, campaign_id: int) -> list[tuple[str, int]]:
    return [(f.factor, f.weight) for f in service.latest_version(actor=actor, campaign_id=campaign_id).strategy.rubric]


def test_the_llm_judgement_factor_is_shown_with_its_weight_and_can_be_set_or_removed(owner):
    """Issue 18 item 17: the rubric entered (35/25/20/5/10/5) was rescaled at scoring time to make room for an
    'LLM judgement' of 20 that the editor never showed. Now it has its own weight here, saved as entered."""
    version = service.create_campaign_from_goal(actor=owner, goal="Plumbers in Bristol", llm=None)
    cid = version.campaign_id
    data = version.strategy.model_dump()
    data["rubric"] = [{"factor": "Industry match", "weight": 60}, {"factor": "Reachable contact", "weight": 20},
                      {"factor": "LLM judgement", "weight": 20}]
    service.save_version(actor=owner, campaign_id=cid, strategy=data)

    at = page("strategy.py", owner, strategy_campaign_id=cid)
    assert not at.exception
    judgement = at.number_input(key=f"strategy_judgement_{cid}_2")
    assert judgement.value == 20 and judgement.label.startswith("LLM judgement weight")
    grid = at.data_editor(key=f"strategy_rubric_{cid}_2").value
    assert list(grid["factor"]) == ["Industry match", "Reachable contact"]  # the LLM's row is the field above
    assert any("factors 80 + LLM judgement 20" in c.value for c in at.caption)

    # remove it: the other weights are kept exactly as entered (80 is refused, not scaled up to 100)
    judgement.set_value(0).run()
    assert any("add up to 80" in e.value for e in at.error)
    at.button(key="strategy_save").click().run()
    assert any("rubric weights must add up to 100" in e.value for e in at.error)
    at.session_state[f"strategy_rubric_{cid}_2"] = {
        "edited_rows": {0: {"weight": 80}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="strategy_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _rubric_of_latest(owner, cid) == [("Industry match", 80), ("Reachable contact", 20)]

    # set it again on the new version: 35/25/20/5/10/5 style weights stay as typed, the LLM's beside them
    at.number_input(key=f"strategy_judgement_{cid}_3").set_value(30).run()
    at.session_state[f"strategy_rubric_{cid}_3"] = {
        "edited_rows": {0: {"weight": 50}}, "added_rows": [], "deleted_rows": []}
    at.run()
    at.button(key="strategy_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert _rubric_of_latest(owner, cid) == [("Industry match", 50), ("Reachable contact", 20), ("LLM judgement", 30)]
