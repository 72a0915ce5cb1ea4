"""Scores: each factor follows the rubric, a rubric change re-scores as a job, evidence ids are real."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from core import background
from core.db import UnitOfWork
from core.db.models import Evidence, LLMCall
from core.llm import OpenAILLM
from core.scoring import service as scoring
from core.scoring.rules import JUDGEMENT_NAME, factor_kind
from core.strategy import service as strategy
from tests.conftest import unique
from tests.fixtures.leads_data import HoldRunner, lead, make_lead
from tests.fixtures.openai_server import FakeOpenAI

GOAL = "Independent coffee roasters in Leeds with an online shop, not chains"


@pytest.fixture
def campaign(owner):
    version = strategy.create_campaign_from_goal(actor=owner, goal=GOAL, llm=None)
    strategy.approve(actor=owner, campaign_id=version.campaign_id, version_id=version.id)
    return version


@pytest.fixture
def judged_campaign(owner):
    """A campaign whose approved rubric gives the LLM's judgement 20 of the 100 points (as set in the editor)."""
    version = strategy.create_campaign_from_goal(actor=owner, goal=GOAL, llm=None)
    data = version.strategy.model_dump()
    data["rubric"] = [{"factor": "Industry match", "weight": 35}, {"factor": "Location match", "weight": 25},
                      {"factor": "Reachable contact", "weight": 20}, {"factor": JUDGEMENT_NAME, "weight": 20}]
    saved = strategy.save_version(actor=owner, campaign_id=version.campaign_id, strategy=data)
    strategy.approve(actor=owner, campaign_id=version.campaign_id, version_id=saved.id, runner=HoldRunner())
    return saved


def roaster(owner, campaign_id, **extra):
    return make_lead(
        owner, f"{unique('roast')}.co.uk", campaign_id=campaign_id, name="Northern Bean",
        industry="Coffee roasters", location="Leeds, West Yorkshire", summary="Speciality coffee roastery with an online shop",
        emails=("hello@northernbean.test",),
        facts=(("address", "12 Mill St, Leeds LS1", "Visit us at 12 Mill St, Leeds"),
               ("description", "We roast coffee in small batches", "small-batch coffee roasters since 2012"),
               ("size_cues", "team of 8", "our team of 8 roasters")), **extra)


def own_evidence(lead_id):
    with UnitOfWork() as uow:
        return set(uow.session.scalars(select(Evidence.id).where(Evidence.lead_id == lead_id)))


def test_each_factor_follows_the_rubric_with_real_evidence(owner, campaign):
    good = roaster(owner, campaign.campaign_id)
    chain = make_lead(owner, f"{unique('chain')}.com", campaign_id=campaign.campaign_id, name="Big Coffee Chains Ltd",
                      industry="Coffee shop chains", location="London", summary="A national chain of coffee shops")
    summary = scoring.score_leads(workspace_id=owner.workspace_id, lead_ids=[good, chain], llm=None)
    assert summary.scored == 2 and summary.judged == 0
    rubric = {f.factor: f.weight for f in strategy.latest_version(actor=owner, campaign_id=campaign.campaign_id).strategy.rubric}
    for lead_id in (good, chain):
        row = lead(lead_id)
        assert row.rubric_version == campaign.id
        assert {f["factor"]: f["weight"] for f in row.score_factors} == rubric
        for factor in row.score_factors:
            assert factor["points"] == pytest.approx(factor["weight"] * factor["fraction"], abs=0.01)
            assert set(factor["evidence_ids"]) <= own_evidence(lead_id)
        assert row.score == round(sum(f["points"] for f in row.score_factors), 1)
    factors = {f["kind"]: f for f in lead(good).score_factors}
    assert factors["industry"]["fraction"] == 1 and factors["location"]["fraction"] == 1
    assert factors["location"]["evidence_ids"], "the address evidence backs the location"
    assert factors["reachable"]["fraction"] == 1 and factors["reachable"]["evidence_ids"]
    chain_factors = {f["kind"]: f for f in lead(chain).score_factors}
    assert chain_factors["location"]["fraction"] == 0 and chain_factors["reachable"]["fraction"] == 0
    assert chain_factors["exclusions"]["fraction"] == 0 and "chain" in chain_factors["exclusions"]["detail"]
    assert lead(good).score > lead(chain).score


def test_leads_of_another_workspace_are_not_scored(owner, campaign):
    from tests.conftest import make_owner

    stranger_lead = make_lead(make_owner(), f"{unique('x')}.com")
    assert scoring.score_leads(workspace_id=owner.workspace_id, lead_ids=[stranger_lead], llm=None).scored == 0
    assert lead(stranger_lead).score is None


def test_a_rubric_change_rescores_as_a_job(owner, campaign):
    lead_id = roaster(owner, campaign.campaign_id)
    scoring.score_leads(workspace_id=owner.workspace_id, lead_ids=[lead_id], llm=None)
    data = strategy.latest_version(actor=owner, campaign_id=campaign.campaign_id).strategy.model_dump()
    data["rubric"] = [{"factor": "Industry match", "weight": 50}, {"factor": "Reachable contact", "weight": 50}]
    v2 = strategy.save_version(actor=owner, campaign_id=campaign.campaign_id, strategy=data)
    runner = HoldRunner()
    strategy.approve(actor=owner, campaign_id=campaign.campaign_id, version_id=v2.id, runner=runner)
    [job_id] = runner.job_ids  # approving a different rubric queued the re-score by itself
    assert background.get_job_or_raise(actor=owner, job_id=job_id).queue == "llm"
    background.execute_job(job_id, target="core.scoring.jobs:rescore_campaign_job")
    view = background.get_job_or_raise(actor=owner, job_id=job_id)
    assert view.status == "succeeded" and view.result["scored"] >= 1
    row = lead(lead_id)
    assert row.rubric_version == v2.id
    assert [(f["factor"], f["weight"]) for f in row.score_factors] == [("Industry match", 50), ("Reachable contact", 50)]
    assert row.score == 100.0
    background.execute_job(job_id, target="core.scoring.jobs:rescore_campaign_job")  # safe to run twice
    assert lead(lead_id).score == 100.0


def test_factor_names_map_to_rules():
    assert [factor_kind(n) for n in ("Industry match", "Location match", "Signals of fit", "Company size fit",
                                     "Reachable contact", "Clear of exclusions", "LLM judgement", "Loves dogs")] == [
        "industry", "location", "signals", "size", "reachable", "exclusions", "judgement", "keywords"]


@pytest.fixture
def llm_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(answer={"fit": 50, "reasons": []}) as server:
        yield server


def test_llm_judgement_is_one_factor_with_checked_citations(owner, judged_campaign, llm_server):
    leads = [roaster(owner, judged_campaign.campaign_id) for _ in range(3)]
    first_evidence = sorted(own_evidence(leads[0]))
    llm_server.answer = {"fit": 80, "reasons": [
        {"text": f"Roasts coffee in Leeds {unique('r')}", "evidence_ids": [first_evidence[0], 987654321]}]}
    llm = OpenAILLM(api_key="sk-test", base_url=llm_server.base_url, model="gpt-4o-mini", max_retries=1,
                    timeout_seconds=10, prices={"gpt-4o-mini": (0.15, 0.60)})
    summary = scoring.score_leads(workspace_id=owner.workspace_id, lead_ids=leads, llm=llm)
    assert summary.judged == 3 and not summary.errors
    for lead_id in leads:
        row = lead(lead_id)
        judged = [f for f in row.score_factors if f["kind"] == "judgement"]
        assert len(judged) == 1 and judged[0]["weight"] == 20  # the rubric's own weight for it
        assert judged[0]["points"] == 16.0
        assert [(f["factor"], f["weight"]) for f in row.score_factors] == [
            ("Industry match", 35), ("Location match", 25), ("Reachable contact", 20), (JUDGEMENT_NAME, 20)]
        assert set(judged[0]["evidence_ids"]) <= own_evidence(lead_id)
        assert "dropped" in judged[0]["detail"]
        assert round(sum(f["weight"] for f in row.score_factors), 6) == 100
    assert lead(leads[0]).score_factors[-1]["evidence_ids"] == [first_evidence[0]]
    prompt = llm_server.requests[0]["messages"]
    assert "data, not" in prompt[0]["content"] and "<evidence>" in prompt[1]["content"]
    with UnitOfWork() as uow:
        purposes = list(uow.session.scalars(select(LLMCall.purpose).where(LLMCall.workspace_id == owner.workspace_id)))
    assert purposes.count("score") >= 1


def test_llm_failure_falls_back_to_the_rules(owner, judged_campaign, llm_server):
    from tests.fixtures.openai_server import Reply, error_body

    lead_id = roaster(owner, judged_campaign.campaign_id)
    llm_server.reply(*[Reply(status=400, body=error_body("bad request", type_="invalid_request_error"))] * 3)
    llm = OpenAILLM(api_key="sk-test", base_url=llm_server.base_url, model="gpt-4o-mini", max_retries=0, timeout_seconds=5)
    summary = scoring.score_leads(workspace_id=owner.workspace_id, lead_ids=[lead_id], llm=llm)
    assert summary.scored == 1 and summary.judged == 0 and summary.errors
    factors = {f["factor"]: f for f in lead(lead_id).score_factors}
    judged = factors[JUDGEMENT_NAME]  # shown, with no points and the reason; the other weights as entered
    assert judged["points"] == 0 and judged["detail"].startswith("not judged: the LLM failed")
    assert {name: f["weight"] for name, f in factors.items()} == {
        "Industry match": 35, "Location match": 25, "Reachable contact": 20, JUDGEMENT_NAME: 20}


def test_quota_running_out_mid_run_finishes_with_the_rules(owner, judged_campaign, monkeypatch):
    from core.errors import QuotaExceeded

    def out_of_budget(*_args, **_kwargs):
        raise QuotaExceeded("The LLM budget for this month is used up.")

    monkeypatch.setattr(scoring, "judge", out_of_budget)
    leads = [roaster(owner, judged_campaign.campaign_id) for _ in range(2)]
    summary = scoring.score_leads(workspace_id=owner.workspace_id, lead_ids=leads, llm=object())
    assert summary.scored == 2 and summary.judged == 0
    assert summary.errors == ["The LLM budget for this month is used up."]
    for lead_id in leads:
        row = lead(lead_id)
        assert row.score is not None
        assert [f["points"] for f in row.score_factors if f["kind"] == "judgement"] == [0]


def test_the_rubric_entered_is_the_rubric_scored_with_no_llm_share_added(owner, llm_server):
    """Issue 18 item 17: 35/25/20/5/10/5 was silently rescaled to make room for an LLM factor of 20."""
    version = strategy.create_campaign_from_goal(actor=owner, goal=GOAL, llm=None)
    data = version.strategy.model_dump()
    entered = [("Industry match", 35), ("Location match", 25), ("Signals of fit", 20), ("Company size fit", 5),
               ("Reachable contact", 10), ("Clear of exclusions", 5)]
    data["rubric"] = [{"factor": n, "weight": w} for n, w in entered]
    saved = strategy.save_version(actor=owner, campaign_id=version.campaign_id, strategy=data)
    strategy.approve(actor=owner, campaign_id=version.campaign_id, version_id=saved.id, runner=HoldRunner())
    lead_id = roaster(owner, version.campaign_id)
    llm_server.answer = {"fit": 90, "reasons": []}
    llm = OpenAILLM(api_key="sk-test", base_url=llm_server.base_url, model="gpt-4o-mini", max_retries=0, timeout_seconds=5)
    summary = scoring.score_leads(workspace_id=owner.workspace_id, lead_ids=[lead_id], llm=llm)
    assert summary.judged == 0 and llm_server.requests == []  # the rubric gives the LLM no say: it is not asked
    row = lead(lead_id)
    assert [(f["factor"], f["weight"]) for f in row.score_factors] == entered
    assert row.score == round(sum(f["points"] for f in row.score_factors), 1)


def test_a_rules_only_rescore_keeps_the_earlier_judgement_at_the_current_weight(owner, judged_campaign, llm_server):
    lead_id = roaster(owner, judged_campaign.campaign_id)
    llm_server.answer = {"fit": 50, "reasons": [{"text": "Roasts coffee", "evidence_ids": []}]}
    llm = OpenAILLM(api_key="sk-test", base_url=llm_server.base_url, model="gpt-4o-mini", max_retries=0, timeout_seconds=5)
    scoring.score_leads(workspace_id=owner.workspace_id, lead_ids=[lead_id], llm=llm)
    judged = lead(lead_id).score_factors[-1]
    assert (judged["points"], judged["detail"].startswith("fit 50/100")) == (10.0, True)
    summary = scoring.score_leads(workspace_id=owner.workspace_id, lead_ids=[lead_id], use_llm=False)
    assert summary.judged == 0
    again = lead(lead_id).score_factors[-1]
    assert again["points"] == 10.0 and again["detail"].startswith("(earlier judgement) fit 50/100")
