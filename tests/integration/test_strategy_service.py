"""Campaigns from goals (heuristic and through a local OpenAI-speaking server), versions, approval."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core.actor import Actor
from core.db import UnitOfWork
from core.db.models import Campaign, LLMCall
from core.errors import InvalidInput, LLMError, NotFound, QuotaExceeded
from core.llm import OpenAILLM
from core.strategy import generate, service
from tests.fixtures.openai_server import FakeOpenAI
from tests.fixtures.strategy_answer import strategy_answer


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(answer=strategy_answer()) as fake:
        yield fake


@pytest.fixture
def llm(server: FakeOpenAI) -> OpenAILLM:
    return OpenAILLM(
        api_key="sk-test",
        base_url=server.base_url,
        model="gpt-4o-mini",
        max_retries=1,
        backoff_base_seconds=0.0,
        prices={"gpt-4o-mini": (0.15, 0.60)},
        sleep=lambda _s: None,
    )


def goal() -> str:
    return f"independent coffee roasters in Portland, OR ref {secrets.token_hex(4)}"


def test_heuristic_campaign_gets_version_1(owner: Actor) -> None:
    version = service.create_campaign_from_goal(actor=owner, goal=goal(), llm=None)
    assert (version.version, version.mode) == (1, "heuristic")
    assert version.strategy.cost_preview.searches == len(version.strategy.queries)
    assert version.strategy.cost_preview.llm_tokens == 0  # no key: nothing will be spent on analysis
    [listed] = [c for c in service.list_campaigns(actor=owner) if c.id == version.campaign_id]
    assert (listed.status, listed.latest_version, listed.mode) == ("draft", 1, "heuristic")


def test_llm_campaign_uses_the_structured_answer(owner: Actor, llm: OpenAILLM, server: FakeOpenAI) -> None:
    version = service.create_campaign_from_goal(actor=owner, goal=goal(), llm=llm)
    strategy = version.strategy
    assert strategy.mode == "llm"
    assert strategy.icp.industries == ["specialty coffee roasters"]
    assert [f.weight for f in strategy.rubric] == [50, 30, 20]
    assert len(server.requests) == 1
    with UnitOfWork() as uow:
        purposes = list(uow.session.scalars(select(LLMCall.purpose).where(LLMCall.campaign_id == version.campaign_id)))
    assert purposes == ["strategy"]


def test_two_identical_plans_make_one_api_call(llm: OpenAILLM, server: FakeOpenAI) -> None:
    text = goal()
    first = generate(text, llm=llm)
    second = generate(text, llm=llm)
    assert first == second
    assert len(server.requests) == 1


def test_llm_answer_is_repaired(llm: OpenAILLM, server: FakeOpenAI) -> None:
    server.answer = strategy_answer(
        queries=[{"text": "coffee roasters only one", "intent": "x"}, {"text": " ", "intent": ""}],
        rubric=[{"factor": "Fit", "weight": 3}, {"factor": "Place", "weight": 1}],
    )
    strategy = generate(goal(), llm=llm)
    assert strategy.queries[0].text == "coffee roasters only one" and len(strategy.queries) == 5  # topped up
    assert not strategy.summary.startswith("Note:")
    assert [f.weight for f in strategy.rubric] == [75, 25]


def test_failed_llm_plan_leaves_no_empty_campaign(owner: Actor, llm: OpenAILLM, server: FakeOpenAI) -> None:
    server.answer = "I cannot help with that."
    text = goal()
    with pytest.raises(LLMError, match="could not be read"):
        service.create_campaign_from_goal(actor=owner, goal=text, llm=llm)
    assert all(c.goal != text for c in service.list_campaigns(actor=owner))


def test_campaign_budget_stops_the_plan_before_sending(owner: Actor, llm: OpenAILLM, server: FakeOpenAI) -> None:
    with pytest.raises(QuotaExceeded, match="token budget"):
        service.create_campaign_from_goal(actor=owner, goal=goal(), llm=llm, budget_tokens=50)
    assert server.requests == []


def test_save_version_records_what_changed(owner: Actor) -> None:
    first = service.create_campaign_from_goal(actor=owner, goal=goal(), llm=None)
    data = first.strategy.model_dump()
    data["queries"][0]["text"] = "roasteries Portland wholesale"
    data["rubric"] = [{"factor": "Industry match", "weight": 60}, {"factor": "Location match", "weight": 40}]
    second = service.save_version(actor=owner, campaign_id=first.campaign_id, strategy=data, change_note="tighter")
    assert second.version == 2
    assert second.change_note.startswith("tighter\n")
    assert "queries: added 'roasteries Portland wholesale'" in second.change_note
    old_weight = first.strategy.rubric[0].weight
    assert f"'Industry match' {old_weight} -> 60" in second.change_note
    assert "'Reachable contact' removed" in second.change_note
    with pytest.raises(InvalidInput, match="Nothing changed since version 2"):
        service.save_version(actor=owner, campaign_id=first.campaign_id, strategy=second.strategy)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"rubric": [{"factor": "Fit", "weight": 90}]}, r"rubric weights must add up to 100 \(they add up to 90\)"),
        ({"queries": []}, "needs 1 to 20 queries"),
        ({"queries": [{"text": f"q{i}"} for i in range(21)]}, "needs 1 to 20 queries"),
        ({"queries": [{"text": "  ", "intent": "x"}]}, "query text cannot be empty"),
    ],
)
def test_invalid_edits_are_refused_clearly(owner: Actor, edit: dict, message: str) -> None:
    first = service.create_campaign_from_goal(actor=owner, goal=goal(), llm=None)
    with pytest.raises(InvalidInput, match=message):
        service.save_version(
            actor=owner, campaign_id=first.campaign_id, strategy={**first.strategy.model_dump(), **edit}
        )


def test_approve_records_the_version(owner: Actor) -> None:
    first = service.create_campaign_from_goal(actor=owner, goal=goal(), llm=None)
    campaign = service.approve(actor=owner, campaign_id=first.campaign_id, version_id=first.id)
    assert (campaign.status, campaign.approved_version_id) == ("approved", first.id)


def test_other_workspaces_cannot_see_or_touch_a_campaign(owner: Actor) -> None:
    from core.auth import service as auth

    email = f"other-{secrets.token_hex(4)}@example.test"
    auth.sign_up(email=email, password="correct horse battery", workspace_name="other")
    signed = auth.sign_in(email=email, password="correct horse battery")
    other = auth.actor_for(user_id=signed.user_id, workspace_id=signed.workspaces[0][0])
    mine = service.create_campaign_from_goal(actor=owner, goal=goal(), llm=None)
    assert mine.campaign_id not in [c.id for c in service.list_campaigns(actor=other)]
    with pytest.raises(NotFound):
        service.get_campaign_or_raise(actor=other, campaign_id=mine.campaign_id)
    with pytest.raises(NotFound):
        service.list_versions(actor=other, campaign_id=mine.campaign_id)
    with pytest.raises(NotFound):
        service.save_version(actor=other, campaign_id=mine.campaign_id, strategy=mine.strategy)
    with pytest.raises(NotFound):
        service.approve(actor=other, campaign_id=mine.campaign_id, version_id=mine.id)
    other_first = service.create_campaign_from_goal(actor=other, goal=goal(), llm=None)
    with pytest.raises(NotFound):  # a version id from another workspace is not approvable here either
        service.approve(actor=owner, campaign_id=mine.campaign_id, version_id=other_first.id)
    with UnitOfWork() as uow:
        assert uow.session.get(Campaign, mine.campaign_id).status == "draft"


def test_empty_goal_is_refused(owner: Actor) -> None:
    with pytest.raises(InvalidInput, match="Describe the goal"):
        service.create_campaign_from_goal(actor=owner, goal="   ", llm=None)


def test_llm_answer_with_a_technology_exclusion_is_turned_into_a_rubric_factor(
    llm: OpenAILLM, server: FakeOpenAI
) -> None:
    """Issue 14 section 4: the LLM's ``-"online booking"`` leaves the queries, the rubric scores the absence."""
    text = f"dental practices in Leeds without online booking. Ref {secrets.token_hex(4)}"
    server.answer = strategy_answer(
        icp={
            "industries": ["dental practices"],
            "locations": ["Leeds"],
            "company_size": "small",
            "keywords": ["dentist"],
            "signals": [],
            "exclusions": ["online booking", "chains"],
        },
        queries=[{"text": f'dental practice Leeds -"online booking" {i}', "intent": "direct"} for i in range(6)],
        rubric=[{"factor": "Industry match", "weight": 60}, {"factor": "Location match", "weight": 40}],
    )
    strategy = generate(text, llm=llm)
    assert strategy.mode == "llm"
    assert [q.text for q in strategy.queries] == [f"dental practice Leeds {i}" for i in range(6)]
    assert strategy.icp.exclusions == ["chains"]
    assert [f.factor for f in strategy.rubric] == ["Industry match", "Location match", "No online booking found"]
    assert sum(f.weight for f in strategy.rubric) == 100
    assert not strategy.summary.startswith("Note:")


def test_llm_rubric_that_already_scores_the_technology_gets_no_second_factor(
    llm: OpenAILLM, server: FakeOpenAI
) -> None:
    text = f"e-commerce shops not on Shopify in the UK. Ref {secrets.token_hex(4)}"
    server.answer = strategy_answer(
        queries=[{"text": f"UK e-commerce shop {i}", "intent": "direct"} for i in range(6)],
        rubric=[{"factor": "Industry match", "weight": 70}, {"factor": "No Shopify found", "weight": 30}],
    )
    strategy = generate(text, llm=llm)
    assert [(f.factor, f.weight) for f in strategy.rubric] == [("Industry match", 70), ("No Shopify found", 30)]


def test_llm_queries_off_the_goal_are_replaced_and_the_summary_says_so(llm: OpenAILLM, server: FakeOpenAI) -> None:
    """The fixture's Portland coffee queries answer a German CNC goal: none names its industry or place."""
    text = f"CNC-Fertigung in Baden-Württemberg, keine Händler. Ref {secrets.token_hex(4)}"
    strategy = generate(text, llm=llm)  # the default answer: "portland coffee roaster query i"
    texts = [q.text for q in strategy.queries]
    assert texts and all("CNC-Fertigung" in t for t in texts)
    assert not any("portland" in t for t in texts)
    assert strategy.summary.startswith("Note: 8 of the AI's 8 queries named neither the goal's industry nor its place")
    assert len(server.requests) == 1


def test_llm_queries_keeping_the_goal_terms_are_kept(llm: OpenAILLM, server: FakeOpenAI) -> None:
    text = f"CNC-Fertigung in Baden-Württemberg, keine Händler. Ref {secrets.token_hex(4)}"
    good = [{"text": f"CNC Lohnfertigung Stuttgart Baden-Württemberg {i}", "intent": "direct"} for i in range(5)]
    off = [{"text": "best companies near me", "intent": "x"}]
    server.answer = strategy_answer(queries=[*good, *off])
    strategy = generate(text, llm=llm)
    texts = [q.text for q in strategy.queries]
    assert texts[:5] == [q["text"] for q in good] and "best companies near me" not in texts
    assert len(texts) == 6 and "CNC-Fertigung" in texts[5]  # the dropped one replaced by a rule-based query
    assert strategy.summary.startswith("Note: 1 of the AI's 6 queries")
