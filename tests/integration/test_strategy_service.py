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
        queries=[{"text": "only one", "intent": "x"}, {"text": " ", "intent": ""}],
        rubric=[{"factor": "Fit", "weight": 3}, {"factor": "Place", "weight": 1}],
    )
    strategy = generate(goal(), llm=llm)
    assert strategy.queries[0].text == "only one" and len(strategy.queries) == 5  # topped up heuristically
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
