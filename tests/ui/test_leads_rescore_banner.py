"""The leads page warns about scores from an older rubric, and "Re-score now" queues the campaign's re-score job."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core import background
from core.background.kinds import RESCORE_CAMPAIGN
from core.config import PROJECT_ROOT
from core.db import UnitOfWork
from core.db.models import Job
from tests.conftest import make_owner
from tests.fixtures.leads_data import campaign_with_new_rubric, lead, scored_lead


def banner(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning if "out-of-date score" in w.value)


def rescore_jobs(workspace_id: int) -> list[Job]:
    with UnitOfWork() as uow:
        rows = uow.session.scalars(select(Job).where(Job.workspace_id == workspace_id, Job.kind == RESCORE_CAMPAIGN.name)).all()
        uow.session.expunge_all()
        return list(rows)


def wait_until_finished(actor, job_id: int, timeout: float = 60.0) -> background.JobView:
    """Poll the job row until the runner is done with it (a bound, not a timing assertion). With
    REDIS_URL set the job went to RQ: a real ``rq worker --burst`` runs it, as deployment would."""
    from core.config import get_settings

    redis_url = get_settings().redis_url
    if redis_url:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("rq")), "worker", "--burst", "--worker-class", "workers.tasks.Worker",
             "--url", redis_url, *background.QUEUES],
            cwd=PROJECT_ROOT, env=dict(os.environ, PYTHONPATH=str(PROJECT_ROOT)), capture_output=True, text=True,
            timeout=timeout)
        assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + timeout
    while (view := background.get_job_or_raise(actor=actor, job_id=job_id)).is_active and time.monotonic() < deadline:
        time.sleep(0.05)
    return view


def test_banner_counts_outdated_scores_and_rescore_now_queues_the_job(owner):
    v1, v2 = campaign_with_new_rubric(owner)
    campaign = v1.campaign_id
    scored_lead(owner, v2.id, campaign_id=campaign, name="Current Roast")
    old = scored_lead(owner, v1.id, campaign_id=campaign, name="Old Roast")
    scored_lead(owner, v1.id, campaign_id=campaign, name="Older Roast")
    unscored = scored_lead(owner, None, campaign_id=campaign, name="New Roast")
    stranger = make_owner()
    s1, _s2 = campaign_with_new_rubric(stranger)
    for _ in range(4):
        scored_lead(stranger, s1.id, campaign_id=s1.campaign_id, name="Stranger Roast")

    at = AppTest.from_file(str(PROJECT_ROOT / "pages" / "leads.py"), default_timeout=30)
    at.session_state["actor"] = owner
    at.run()
    assert not at.exception
    assert "3 leads in this view have an out-of-date score" in banner(at)
    assert "2 scored with an older rubric and 1 not scored yet" in banner(at)
    at.text_input(key="leads_text").set_value("old roast").run()
    assert "1 lead in this view has an out-of-date score** (1 scored with an older rubric)" in banner(at)
    at.selectbox(key="leads_open").set_value(old).run()
    assert any(w.value == "Scored with rubric v1; current is v2." for w in at.warning)
    at.text_input(key="leads_text").set_value("current roast").run()
    assert banner(at) == ""

    at.text_input(key="leads_text").set_value("").run()
    assert rescore_jobs(owner.workspace_id) == []
    at.button(key="leads_rescore_outdated").click().run()
    assert not at.exception and not at.error
    [job] = rescore_jobs(owner.workspace_id)
    assert job.args["campaign_id"] == campaign and job.created_by == owner.user_id
    assert any(f"Re-scoring in job {job.id}" in s.value for s in at.success)
    assert rescore_jobs(stranger.workspace_id) == []

    assert wait_until_finished(owner, job.id).status == "succeeded"
    at.run()
    assert banner(at) == ""
    assert lead(old).rubric_version == lead(unscored).rubric_version == v2.id
    assert not any("Scored with rubric" in w.value for w in at.warning)
