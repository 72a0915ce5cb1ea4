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
