"""The insights page renders its charts from SQL aggregates of the actor's workspace only."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT
from core.db import UnitOfWork
from core.db.models import LLMCall, Run, SearchCall, SearchHit
from core.leads.insights import get_insights
from core.strategy import service as strategy
from tests.conftest import make_owner, unique
from tests.fixtures.leads_data import make_lead


def test_insights_aggregates_and_page(owner):
    version = strategy.create_campaign_from_goal(actor=owner, goal="Bakeries in York", llm=None)
    domains = [f"{unique('i')}.com" for _ in range(3)]
    make_lead(owner, domains[0], industry="Bakery", location="York", status="qualified", score=85.0)
    make_lead(owner, domains[1], industry="Bakery", location="Leeds", status="won", score=55.0, source="csv")
    make_lead(owner, domains[2], industry="Cafe", location="York", score=12.0)
    make_lead(make_owner(), f"{unique('x')}.com", industry="Bakery", status="qualified")
    with UnitOfWork() as uow:
        run = Run(workspace_id=owner.workspace_id, campaign_id=version.campaign_id, strategy_version_id=version.id)
        uow.session.add(run)
        uow.flush()
        for d in domains:
            uow.session.add(SearchHit(workspace_id=owner.workspace_id, run_id=run.id, query="bakeries york", rank=1,
                                      url=f"https://{d}/", domain=d))
        uow.session.add(SearchCall(workspace_id=owner.workspace_id, run_id=run.id, query="bakeries york", results=3))
        uow.session.add(LLMCall(workspace_id=owner.workspace_id, purpose="score", model="m", prompt_version="score.v1",
                                cost_usd=0.995, cache_key="k"))
        uow.commit()
    data = get_insights(actor=owner)
    assert dict(data.funnel)["qualified"] == 1 and dict(data.funnel)["won"] == 1 and sum(n for _s, n in data.funnel) == 3
    assert dict(data.score_buckets) == {0: 0, 10: 1, 20: 0, 30: 0, 40: 0, 50: 1, 60: 0, 70: 0, 80: 1, 90: 0}
    assert data.industries[0] == ("Bakery", 2)
    assert data.query_yield == (("bakeries york", 3, 2),)
    assert dict(data.sources) == {"search": 2, "csv": 1}
    assert data.qualified == 2 and round(data.cost_per_qualified, 4) == round((0.995 + 0.005) / 2, 4)

    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "insights.py"), default_timeout=30)
    at.session_state["actor"] = owner
    at.run()
    assert not at.exception, at.exception
    assert [m.value for m in at.metric][:2] == ["3", "2"]
    assert len(at.get("plotly_chart")) >= 5
