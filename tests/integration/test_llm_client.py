"""The LLM adapter against a local server that speaks the OpenAI API, through the real SDK."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from core.db import UnitOfWork
from core.db.models import Campaign, LLMCall
from core.errors import LLMError, QuotaExceeded
from core.llm import LLMRequest, OpenAILLM, load_prompt
from tests.fixtures.openai_server import FakeOpenAI, Reply, error_body


class Pitch(BaseModel):
    headline: str
    points: list[str]


ANSWER = {"headline": "Greener bags", "points": ["compostable", "custom print"]}


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(answer=ANSWER) as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def llm(server: FakeOpenAI, sleeps: list[float]) -> OpenAILLM:
    return OpenAILLM(
        api_key="sk-test",
        base_url=server.base_url,
        model="gpt-4o-mini",
        max_retries=2,
        backoff_base_seconds=0.01,
        timeout_seconds=5,
        prices={"gpt-4o-mini": (0.15, 0.60)},
        sleep=sleeps.append,
        rng=lambda: 0.0,
    )


def request(text: str | None = None, **scope: int) -> LLMRequest:
    goal = text or f"coffee roasters {secrets.token_hex(4)}"
    return LLMRequest(purpose="test", prompt=load_prompt("strategy", 1), data={"goal": goal}, **scope)


def calls_for(purpose: str) -> list[tuple]:
    """(model, prompt_version, input_tokens, output_tokens, cost_usd, cache_hit, error) per recorded call."""
    columns = (
        LLMCall.model,
        LLMCall.prompt_version,
        LLMCall.input_tokens,
        LLMCall.output_tokens,
        LLMCall.cost_usd,
        LLMCall.cache_hit,
        LLMCall.error,
    )
    with UnitOfWork() as uow:
        return [
            tuple(row)
            for row in uow.session.execute(select(*columns).where(LLMCall.purpose == purpose).order_by(LLMCall.id))
        ]


def test_structured_answer_is_parsed_and_recorded(llm: OpenAILLM, server: FakeOpenAI) -> None:
    purpose = f"parse-{secrets.token_hex(3)}"
    req = LLMRequest(purpose=purpose, prompt=load_prompt("strategy", 1), data={"goal": f"a </goal> b {purpose}"})
    result = llm.structured(req, Pitch)
    assert result.value == Pitch(**ANSWER)
    assert (result.input_tokens, result.output_tokens, result.cache_hit) == (120, 80, False)
    assert result.cost_usd == pytest.approx((120 * 0.15 + 80 * 0.60) / 1e6)
    sent = server.requests[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["name"] == "Pitch"
    assert "a &lt;/goal&gt; b" in sent["messages"][1]["content"]
    assert server.headers[0]["authorization"] == "Bearer sk-test"
    [(model, version, tokens_in, tokens_out, cost, cache_hit, error)] = calls_for(purpose)
    assert (model, version, tokens_in, tokens_out, cache_hit, error) == (
        "gpt-4o-mini",
        "strategy.v1",
        120,
        80,
        False,
        "",
    )
    assert cost == pytest.approx(result.cost_usd)


def test_429_with_retry_after_is_retried(llm: OpenAILLM, server: FakeOpenAI, sleeps: list[float]) -> None:
    server.reply(
        Reply(
            status=429,
            body=error_body("Slow down", type_="requests", code="rate_limit_exceeded"),
            headers={"Retry-After": "2"},
        )
    )
    result = llm.structured(request(), Pitch)
    assert result.value.headline == "Greener bags"
    assert sleeps == [2.0]
    assert len(server.requests) == 2


def test_repeated_500s_end_in_a_clear_llm_error(llm: OpenAILLM, server: FakeOpenAI, sleeps: list[float]) -> None:
    failing = Reply(status=500, body=error_body("boom", type_="server_error"))
    server.reply(failing, failing, failing, failing)
    purpose = f"fail-{secrets.token_hex(3)}"
    req = LLMRequest(purpose=purpose, prompt=load_prompt("strategy", 1), data={"goal": secrets.token_hex(6)})
    with pytest.raises(LLMError, match=r"LLM server failed \(HTTP 500\).*Gave up after 3 tries"):
        llm.structured(req, Pitch)
    assert len(sleeps) == 2
    [call] = calls_for(purpose)
    assert "HTTP 500" in call[-1]


def test_unparseable_answer_is_retried_once_then_reported(llm: OpenAILLM, server: FakeOpenAI) -> None:
    server.answer = "Sure! Here is your pitch: greener bags."
    with pytest.raises(LLMError, match="could not be read after 2 tries"):
        llm.structured(request(), Pitch)
    assert len(server.requests) == 2


def test_unparseable_answer_then_good_answer_succeeds(llm: OpenAILLM, server: FakeOpenAI) -> None:
    server.reply(Reply(content='{"headline": 3}'))
    assert llm.structured(request(), Pitch).value.points == ["compostable", "custom print"]
    assert len(server.requests) == 2


def test_second_identical_request_is_served_from_cache(llm: OpenAILLM, server: FakeOpenAI) -> None:
    goal = f"florists in Leeds {secrets.token_hex(4)}"
    first = llm.structured(request(goal), Pitch)
    second = llm.structured(request("  " + goal.replace(" ", "   ") + "\n"), Pitch)
    assert second.value == first.value
    assert (first.cache_hit, second.cache_hit, second.cost_usd) == (False, True, 0.0)
    assert len(server.requests) == 1


def test_over_budget_call_raises_quota_exceeded_and_sends_nothing(llm: OpenAILLM, server: FakeOpenAI, owner) -> None:
    with UnitOfWork() as uow:
        campaign = Campaign(workspace_id=owner.workspace_id, name="tiny", goal="x", budget_tokens=100)
        uow.session.add(campaign)
        uow.commit()
    with pytest.raises(QuotaExceeded, match="LLM tokens"):
        llm.structured(request(workspace_id=owner.workspace_id, campaign_id=campaign.id), Pitch)
    assert server.requests == []


def test_money_budget_counts_earlier_spend(llm: OpenAILLM, server: FakeOpenAI, owner) -> None:
    with UnitOfWork() as uow:
        campaign = Campaign(workspace_id=owner.workspace_id, name="small", goal="x", budget_usd=0.0015)
        uow.session.add(campaign)
        uow.commit()
    server.reply(Reply(content='{"headline": "a", "points": []}', prompt_tokens=5000, completion_tokens=1000))
    llm.structured(request(workspace_id=owner.workspace_id, campaign_id=campaign.id), Pitch)
    with pytest.raises(QuotaExceeded, match=r"spent \$0\.0014 of its \$0\.00 LLM budget"):
        llm.structured(request(workspace_id=owner.workspace_id, campaign_id=campaign.id), Pitch)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            Reply(
                status=401, body=error_body("Incorrect API key", type_="invalid_request_error", code="invalid_api_key")
            ),
            "refused the API key",
        ),
        (
            Reply(
                status=429,
                body=error_body("You exceeded your quota", type_="insufficient_quota", code="insufficient_quota"),
            ),
            "run out of quota",
        ),
        (
            Reply(
                status=404,
                body=error_body("The model does not exist", type_="invalid_request_error", code="model_not_found"),
            ),
            "Model 'gpt-4o-mini' was not found",
        ),
    ],
)
def test_permanent_errors_are_not_retried(llm: OpenAILLM, server: FakeOpenAI, reply: Reply, message: str) -> None:
    server.reply(reply)
    with pytest.raises(LLMError, match=message):
        llm.structured(request(), Pitch)
    assert len(server.requests) == 1


def test_timeout_is_retried_then_named(server: FakeOpenAI, sleeps: list[float]) -> None:
    slow = Reply(content="{}", delay_seconds=1.0)
    server.reply(slow, slow)
    llm = OpenAILLM(
        api_key="sk-test",
        base_url=server.base_url,
        model="m",
        max_retries=1,
        timeout_seconds=0.2,
        backoff_base_seconds=0.01,
        sleep=sleeps.append,
        rng=lambda: 0.5,
    )
    with pytest.raises(LLMError, match=r"did not answer within 0.2 s.*Gave up after 2 tries"):
        llm.structured(request(), Pitch)
    assert sleeps == [0.005]
