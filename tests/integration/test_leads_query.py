"""The lead table's SQL: every filter, sorting, paging, and one workspace never sees another's leads."""

from __future__ import annotations

import pytest

from core.db import UnitOfWork
from core.db.models import Run, SearchHit
from core.leads import merge, service
from core.leads.csv_export import export_csv
from core.leads.insights import get_insights
from core.leads.query import LeadFilter, count_leads, filter_options, list_leads
from core.strategy import service as strategy
from tests.conftest import make_owner, unique
from tests.fixtures.leads_data import make_lead


@pytest.fixture
def table(owner):
    """Three leads in the owner's workspace and one in a stranger's with the same look."""
    tag = unique("tag")
    a = make_lead(owner, f"{unique('roast')}.com", name="Bean Roasters", industry="Coffee roasting", location="Leeds",
                  country="GB", emails=("hello@bean.test",), tech=["Shopify"], tags=[tag, "café"], score=80.0,
                  status="qualified", summary="We roast speciality coffee")
    b = make_lead(owner, f"{unique('bake')}.com", name="Crumb Bakery", industry="Bakery", location="York",
                  phones=("+441904000000",), tech=["WordPress"], score=40.0)
    c = make_lead(owner, f"{unique('plumb')}.com", name="Pipe Plumbing", industry="Plumbing", location="Bristol")
    stranger = make_owner()
    s = make_lead(stranger, f"{unique('roast')}.com", name="Bean Roasters", industry="Coffee roasting",
                  location="Leeds", emails=("x@bean.test",), tech=["Shopify"], tags=[tag], score=90.0, status="qualified")
    return owner, stranger, tag, (a, b, c, s)


def ids(actor, **kw):
    return {r.id for r in list_leads(actor=actor, flt=LeadFilter(**kw), page_size=100).rows}


def test_each_filter_narrows_within_the_workspace(table):
    owner, _stranger, tag, (a, b, c, s) = table
    assert ids(owner) == {a, b, c}
    assert ids(owner, statuses=("qualified",)) == {a}
    assert ids(owner, score_min=50) == {a}
    assert ids(owner, score_min=30, score_max=50) == {b}
    assert ids(owner, industry="coffee") == {a}
    assert ids(owner, location="york") == {b}
    assert ids(owner, location="gb") == {a}
    assert ids(owner, has_email=True) == {a}
    assert ids(owner, has_email=False) == {b, c}
    assert ids(owner, has_phone=True) == {b}
    assert ids(owner, technology="wordpress") == {b}
    assert ids(owner, tags=(tag,)) == {a}
    assert ids(owner, tags=("café",)) == {a}
    assert ids(owner, text="speciality") == {a}
    assert ids(owner, text="100%_") == set()
    assert ids(owner, text="BEAN roasters") == {a}  # any case
    assert ids(owner, text="CRUMB") == {b} and ids(owner, industry="COFFEE") == {a} and ids(owner, technology="WORDPRESS") == {b}
    assert ids(owner, owner_id=owner.user_id) == set()
    assert ids(owner, lead_ids=(a, s)) == {a}


def test_text_search_covers_industry(table):
    """Issue 18 item 14: "Bakery" found 0 leads whose industry is Bakery (name, domain, summary, notes only)."""
    owner, _stranger, _tag, (a, b, c, _s) = table
    assert ids(owner, text="coffee ROAST") == {a}  # only in its industry "Coffee roasting"
    assert ids(owner, text="bakery") == {b}
    assert count_leads(actor=owner, flt=LeadFilter(has_email=True)) == 1


def test_technology_category_filter_both_ways(table):
    """Issue 14: "shops" and "firms with no CMS" as filters on the categories of the detected technologies."""
    owner, _stranger, _tag, (a, b, c, _s) = table
    assert ids(owner, tech_category="e-commerce") == {a}  # Shopify
    assert ids(owner, tech_category="CMS") == {b}  # WordPress
    assert ids(owner, tech_category="cms", tech_category_absent=True) == {a, c}  # c has no technology at all
    assert ids(owner, tech_category="booking") == set()
    with pytest.raises(ValueError, match="unknown technology category"):
        ids(owner, tech_category="no such thing")


def test_sorting_and_paging(table):
    owner, *_ = table
    page1 = list_leads(actor=owner, flt=LeadFilter(), sort="score", descending=True, page=1, page_size=2)
    page2 = list_leads(actor=owner, flt=LeadFilter(), sort="score", descending=True, page=2, page_size=2)
    assert page1.total == page2.total == 3
    assert [r.score for r in page1.rows] == [80.0, 40.0]
    assert [r.score for r in page2.rows] == [None]
    by_name = list_leads(actor=owner, flt=LeadFilter(), sort="name", descending=False)
    assert [r.name for r in by_name.rows] == ["Bean Roasters", "Crumb Bakery", "Pipe Plumbing"]
    assert by_name.rows[0].email == "hello@bean.test"


def test_query_that_found_it_and_campaign_filters(table):
    owner, stranger, _tag, (a, b, c, s) = table
    version = strategy.create_campaign_from_goal(actor=owner, goal="Coffee roasters in Leeds", llm=None)
    with UnitOfWork() as uow:
        run = Run(workspace_id=owner.workspace_id, campaign_id=version.campaign_id, strategy_version_id=version.id)
        uow.session.add(run)
        uow.flush()
        from core.db.models import Lead
        domain = uow.session.get(Lead, a).domain
        uow.session.add(SearchHit(workspace_id=owner.workspace_id, run_id=run.id, query="coffee roasters leeds",
                                  rank=1, url=f"https://{domain}/", domain=domain, title="Bean", snippet="Roasted"))
        uow.session.get(Lead, b).campaign_id = version.campaign_id
        uow.commit()
    assert ids(owner, search_query="coffee roasters leeds") == {a}
    assert ids(stranger, search_query="coffee roasters leeds") == set()
    assert ids(owner, campaign_id=version.campaign_id) == {b}
    assert ids(stranger, campaign_id=version.campaign_id) == set()
    options = filter_options(actor=owner)
    assert "coffee roasters leeds" in options.search_queries
    assert filter_options(actor=stranger).search_queries == ()
    detail = service.get_lead_detail_or_raise(actor=owner, lead_id=a)
    assert detail.hits[0].query == "coffee roasters leeds" and detail.hits[0].snippet == "Roasted"


def test_every_page_call_is_isolated(table):
    owner, stranger, tag, (a, b, c, s) = table
    assert ids(stranger) == {s}
    from core.errors import NotFound
    with pytest.raises(NotFound):
        service.get_lead_detail_or_raise(actor=stranger, lead_id=a)
    with pytest.raises(NotFound):
        service.update_lead(actor=stranger, lead_id=a, status="lost", owner_id=None, tags=[], notes="")
    assert service.set_status(actor=stranger, lead_ids=[a, b], status="lost") == 0
    assert service.assign(actor=stranger, lead_ids=[a], owner_id=None) == 0
    assert service.delete_leads(actor=stranger, lead_ids=[a, b, c]) == 0
    with pytest.raises(NotFound):
        merge.merge_leads(actor=stranger, keep_id=s, merge_ids=[a])
    exported = export_csv(actor=stranger, flt=LeadFilter(lead_ids=(a, b, c, s)), columns=("domain",)).decode()
    assert exported.count("\n") == 2  # header and the stranger's own lead
    assert all(group_id in {s} for g in merge.find_duplicates(actor=stranger) for group_id in g.lead_ids)
    assert get_insights(actor=stranger).funnel == tuple(
        (st, 1 if st == "qualified" else 0) for st, _n in get_insights(actor=stranger).funnel)
    assert ids(owner) == {a, b, c}
    assert {o[0] for o in filter_options(actor=stranger).owners} == {stranger.user_id}


def test_bulk_status_assign_and_edit_are_audited(table):
    owner, _s, _t, (a, b, c, _x) = table
    assert service.set_status(actor=owner, lead_ids=[a, b], status="contacted") == 2
    assert service.assign(actor=owner, lead_ids=[c], owner_id=owner.user_id) == 1
    assert ids(owner, owner_id=owner.user_id) == {c}
    service.update_lead(actor=owner, lead_id=c, status="meeting", owner_id=None, tags=[" vip ", "vip"], notes="call")
    detail = service.get_lead_detail_or_raise(actor=owner, lead_id=c)
    assert (detail.status, detail.owner_id, detail.tags, detail.notes) == ("meeting", None, ("vip",), "call")
    assert ids(owner, statuses=("contacted",)) == {a, b}
