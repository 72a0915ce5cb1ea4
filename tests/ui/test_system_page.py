"""The System page renders checks (receiver included), activity, spend and database size."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from core.config import PROJECT_ROOT


def test_system_page_shows_receiver_activity_and_spend(owner, monkeypatch):
    monkeypatch.setenv("RECEIVER_URL", "http://127.0.0.1:9")  # nothing listens there: shown as down
    from core.config import get_settings

    get_settings.cache_clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "pages/system.py"), default_timeout=30)
    at.session_state["actor"] = owner
    at.run()
    get_settings.cache_clear()
    assert not at.exception
    assert any("Receiver" in m.value for m in at.markdown)
    assert any("unreachable" in c.value for c in at.caption)
    labels = [m.label for m in at.metric]
    assert labels == ["LLM spend this month", "LLM tokens this month", "Searches this month", "Database size"]
    assert "Activity" in [h.value for h in at.subheader]


def _retrying_job(owner) -> int:
    """A self-test job whose first attempt failed for real and whose retry waits (JOB_RETRY_DELAYS=[30])."""
    import pytest

    from core import background
    from core.background.execution import RetryPolicy, RetryScheduled
    from tests.fixtures.leads_data import HoldRunner

    job_id = background.submit(
        kind="system.selftest", args={"steps": 1, "pause": 0, "fail_with": "provider exploded"}, actor=owner,
        runner=HoldRunner(),
    )
    with pytest.raises(RetryScheduled):
        background.execute_job(job_id, attempt=1, policy=RetryPolicy(2, (30, 60)))
    return job_id


def test_a_retrying_job_says_when_after_what_and_which_attempt(owner):
    # Before: the row said "running" (RQ) or "retrying" with no time, and the page showed only the status.
    from core import background

    job_id = _retrying_job(owner)
    view = background.get_job_or_raise(actor=owner, job_id=job_id)
    at = AppTest.from_file(str(PROJECT_ROOT / "pages/system.py"), default_timeout=30)
    at.session_state["actor"] = owner
    at.run()
    assert not at.exception
    [frame] = [d.value for d in at.dataframe if {"id", "kind", "status"} <= set(d.value.columns)]  # the job table
    [status] = list(frame.loc[frame["id"] == job_id, "status"])
    assert view.retry_at is not None
    assert status == (
        f"retrying at {view.retry_at:%H:%M:%S} UTC (attempt 2) after: RuntimeError: provider exploded"
    )
    assert list(frame.loc[frame["id"] == job_id, "attempts"]) == [1]


def test_a_run_shows_its_batch_retrying(owner):
    # Before: a batch waiting for its next attempt looked like any running batch on the run's progress.
    from core import background
    from core.background.execution import RetryScheduled
    from core.background.recovery import worker_died
    from core.runs import service as runs
    from core.strategy import service as strategy
    from tests.fixtures.leads_data import HoldRunner

    plan = strategy.create_campaign_from_goal(actor=owner, goal="software agencies in Berlin", llm=None)
    strategy.approve(actor=owner, campaign_id=plan.campaign_id, version_id=plan.id)
    hold = HoldRunner()
    started = runs.start_run_from_urls(
        actor=owner, campaign_id=plan.campaign_id, urls_text="https://a-site.test\nhttps://b-site.test", runner=hold
    )
    (batch_id,) = hold.job_ids
    background.execution.mark(batch_id, status="running", attempts=1)  # its worker took it, then died
    planned = worker_died(batch_id, "worker died (signal 9)")
    assert isinstance(planned, RetryScheduled) and planned.attempt == 2

    def panel(campaign_id: int) -> None:
        import streamlit as st

        from ui.runs_panel import render_runs

        render_runs(st.session_state["actor"], campaign_id)

    at = AppTest.from_function(panel, args=(plan.campaign_id,), default_timeout=30)
    at.session_state["actor"] = owner
    at.run()
    assert not at.exception
    view = background.get_job_or_raise(actor=owner, job_id=batch_id)
    assert view.retry_at is not None
    expected = (
        f"Job {batch_id} (runs.crawl_batch) retrying at {view.retry_at:%H:%M:%S} UTC (attempt 2)"
        " after: worker died (signal 9)"
    )
    assert expected in [w.value for w in at.warning]
    assert runs.get_run_or_raise(actor=owner, run_id=started.run_id).retrying == (expected,)
