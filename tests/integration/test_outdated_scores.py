"""Scores from an older rubric: counted per filter inside one workspace, re-scored by the campaign job."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from core import background
from core.background.kinds import RESCORE_CAMPAIGN
from core.db import UnitOfWork
from core.db.models import Job
from core.leads.query import LeadFilter
from core.leads.service import get_lead_detail_or_raise
from core.scoring.outdated import count_outdated_scores, rescore_outdated
from core.strategy import service as strategy
from tests.conftest import make_owner
from tests.fixtures.leads_data import HoldRunner, campaign_with_new_rubric, lead
from tests.fixtures.leads_data import scored_lead as scored


@dataclass
class Leads:
    campaign: int
    draft_campaign: int
    v1: int
    v2: int
    current: int
    old: int
    default_rubric: int
    unscored: int
    loose_old: int
    draft_current: int
    draft_unscored: int


@pytest.fixture
def workspace(owner):
    """Leads on the current rubric, an older one, the pre-approval default, and none, plus a stranger's stale ones."""
    v1, v2 = campaign_with_new_rubric(owner)
    campaign = v1.campaign_id
    draft = strategy.create_campaign_from_goal(actor=owner, goal="Plumbers in Bristol", llm=None).campaign_id
    leads = Leads(
        campaign=campaign, draft_campaign=draft, v1=v1.id, v2=v2.id,
        current=scored(owner, v2.id, campaign_id=campaign),
        old=scored(owner, v1.id, campaign_id=campaign, name="Old Roast"),
        default_rubric=scored(owner, 0, campaign_id=campaign),
        unscored=scored(owner, None, campaign_id=campaign),
        loose_old=scored(owner, v1.id, campaign_id=None),  # no campaign: the latest approved rubric applies
        draft_current=scored(owner, v2.id, campaign_id=draft),  # campaign not approved: falls back likewise
        draft_unscored=scored(owner, None, campaign_id=draft),
    )
    stranger = make_owner()
    s1, _s2 = campaign_with_new_rubric(stranger)
    for _ in range(3):
        scored(stranger, s1.id, campaign_id=s1.campaign_id)
        scored(stranger, None, campaign_id=s1.campaign_id)
    return owner, stranger, leads


def test_counts_old_rubric_and_unscored_leads_of_the_workspace_only(workspace):
    owner, stranger, leads = workspace
    found = count_outdated_scores(actor=owner, flt=LeadFilter())
    assert (found.old_rubric, found.unscored, found.total) == (3, 2, 5)
    assert found.campaign_ids == tuple(sorted((leads.campaign, leads.draft_campaign)))
    assert found.running_job_ids == ()

    assert count_outdated_scores(actor=owner, flt=LeadFilter(campaign_id=leads.draft_campaign)).total == 1
    assert count_outdated_scores(actor=owner, flt=LeadFilter(text="old roast")).old_rubric == 1
    only_unscored = LeadFilter(lead_ids=(leads.unscored, leads.draft_unscored))
    assert count_outdated_scores(actor=owner, flt=only_unscored).total == 0  # nothing scored here to compare with
    stranger_view = count_outdated_scores(actor=stranger, flt=LeadFilter())
    assert (stranger_view.old_rubric, stranger_view.unscored) == (3, 3)


def test_no_approved_strategy_means_nothing_is_outdated():
    actor = make_owner()
    scored(actor, 0, campaign_id=None)
    scored(actor, None, campaign_id=None)
    assert count_outdated_scores(actor=actor, flt=LeadFilter()).total == 0


def test_rescore_now_submits_the_campaign_jobs_not_already_running_and_they_fix_the_scores(workspace):
    owner, stranger, leads = workspace
    runner = HoldRunner()
    [held] = [background.submit(kind=RESCORE_CAMPAIGN.name, args={"campaign_id": leads.campaign}, actor=owner, runner=runner)]
    found = count_outdated_scores(actor=owner, flt=LeadFilter())
    assert found.running_job_ids == (held,) and found.campaign_ids == (leads.draft_campaign,)

    [submitted] = rescore_outdated(actor=owner, flt=LeadFilter(), runner=runner)
    with UnitOfWork() as uow:
        job = uow.session.get(Job, submitted)
        assert (job.kind, job.workspace_id, job.args["campaign_id"]) == (RESCORE_CAMPAIGN.name, owner.workspace_id, leads.draft_campaign)
    for job_id in (held, submitted):
        background.execute_job(job_id, target="core.scoring.jobs:rescore_campaign_job")
    assert count_outdated_scores(actor=owner, flt=LeadFilter()).total == 0
    assert {lead(i).rubric_version for i in (leads.old, leads.default_rubric, leads.loose_old, leads.draft_unscored)} == {leads.v2}
    assert count_outdated_scores(actor=stranger, flt=LeadFilter()).total == 6  # untouched
    assert rescore_outdated(actor=owner, flt=LeadFilter(), runner=runner) == []


def test_lead_detail_says_which_rubric_scored_it_and_which_is_current(workspace):
    owner, _stranger, leads = workspace

    def note(lead_id: int) -> str:
        return get_lead_detail_or_raise(actor=owner, lead_id=lead_id).rubric_note

    assert note(leads.old) == "Scored with rubric v1; current is v2."
    assert note(leads.default_rubric) == "Scored with the default rubric (reachable contact only); current is v2."
    assert note(leads.unscored) == "Not scored yet; the current rubric is v2."
    assert note(leads.current) == note(leads.draft_current) == ""
    other_v1, _other_v2 = campaign_with_new_rubric(owner, goal="Wedding cake bakers in York")
    moved = scored(owner, leads.v2, campaign_id=other_v1.campaign_id)  # scored before its campaign was approved
    assert note(moved).startswith("Scored with rubric v2 of “") and "; current is v2 of “" in note(moved)
