"""Settings → API keys and Webhooks: keys and secrets shown once, revoke and delete after a confirmation
that names the target, the delivery log with response codes, redelivery by hand."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.apikeys import service as apikeys
from core.background import runners
from core.config import PROJECT_ROOT, get_settings
from core.errors import NotAuthenticated
from core.leads import service as leads
from core.webhooks import service as webhooks
from core.webhooks.delivery import deliver_due
from tests.conftest import unique
from tests.fixtures.held_queue import HeldQueue
from tests.fixtures.leads_data import make_lead
from tests.fixtures.webhook_receiver import WebhookReceiver


def settings_page(actor) -> AppTest:
    at = AppTest.from_file(str(PROJECT_ROOT / "pages/settings.py"), default_timeout=30)
    at.session_state["actor"] = actor
    at.run()
    assert not at.exception
    return at


def table(at: AppTest, column: str):
    """The one table on the page with this column."""
    [found] = [d.value for d in at.dataframe if column in d.value.columns]
    return found


def button(at: AppTest, label: str):
    [found] = [b for b in at.button if b.label == label]
    return found


def test_an_owner_creates_a_key_sees_it_once_and_revokes_it_after_naming_it(owner):
    at = settings_page(owner)
    name = unique("crm")
    at.text_input(key="settings_key_name").set_value(name)
    at.multiselect(key="settings_key_scopes").set_value(["read", "write"])
    at.number_input(key="settings_key_days").set_value(30)
    button(at, "Create key").click()
    at.run()
    assert not at.exception
    [key] = [c.value for c in at.code if c.value.startswith("lsk_")]
    assert apikeys.authenticate(key).scopes == {"read", "write"}
    [view] = apikeys.list_api_keys(actor=owner)
    assert view.name == name and view.expires_at is not None
    at.run()
    assert not [c for c in at.code if c.value == key]  # shown once

    at.selectbox(key="settings_key_target").set_value(view.id)
    button(at, "Revoke…").click()
    at.run()
    assert any(name in w.value and view.prefix in w.value for w in at.warning)
    assert apikeys.list_api_keys(actor=owner)[0].revoked_at is None  # nothing happens before the confirmation
    button(at, f"Yes, revoke '{name}'").click()
    at.run()
    assert not at.exception
    assert apikeys.list_api_keys(actor=owner)[0].revoked_at is not None
    with pytest.raises(NotAuthenticated, match="revoked"):
        apikeys.authenticate(key)
    assert any(name in s.value for s in at.success)


def test_an_owner_adds_an_endpoint_reads_the_delivery_log_redelivers_and_deletes_it(owner, monkeypatch):
    with WebhookReceiver() as receiver:
        monkeypatch.setenv("CRAWL_ALLOW_PRIVATE", "127.0.0.1/32")
        monkeypatch.setenv("CRAWL_ALLOWED_PORTS", f"80,443,{receiver.port}")
        monkeypatch.setenv("WEBHOOK_RETRY_DELAYS", "[]")  # one attempt, then failed
        get_settings.cache_clear()
        try:
            at = settings_page(owner)
            at.text_input(key="settings_hook_url").set_value(receiver.url)
            at.text_input(key="settings_hook_description").set_value("CRM")
            at.multiselect(key="settings_hook_events").set_value(["lead.qualified"])
            button(at, "Add endpoint").click()
            at.run()
            assert not at.exception
            [secret] = [c.value for c in at.code if c.value.startswith("whsec_")]
            [endpoint] = webhooks.list_endpoints(actor=owner)
            assert endpoint.events == ("lead.qualified",) and endpoint.url == receiver.url
            receiver.secret = secret

            receiver.status = 500
            token = runners.current_runner.set(HeldQueue())
            try:
                lead_id = make_lead(owner, f"{unique('co')}.example.test")
                leads.update_lead(actor=owner, lead_id=lead_id, status="qualified", owner_id=None, tags=[], notes="")
                assert deliver_due(workspace_id=owner.workspace_id).failed == 1
            finally:
                runners.current_runner.reset(token)
            [delivery] = webhooks.list_deliveries(actor=owner)

            at.run()
            assert not at.exception
            assert not [c for c in at.code if c.value == secret]  # shown once
            assert "failing" in table(at, "failing since")["status"].tolist()  # the endpoints
            log = table(at, "next attempt")  # the delivery log
            assert log["status"].tolist() == ["failed"] and log["last response"].tolist() == [500]
            assert table(at, "by hand")["response"].tolist() == [500]  # its attempts

            receiver.status = 200
            button(at, f"Redeliver #{delivery.id}").click()
            at.run()
            assert not at.exception
            assert any(f"#{delivery.id}" in s.value and receiver.url in s.value for s in at.success)
            deadline = time.monotonic() + 60
            while webhooks.get_delivery_or_raise(actor=owner, delivery_id=delivery.id).status != "succeeded":
                deliver_due(workspace_id=owner.workspace_id)  # a worker may have done it already
                assert time.monotonic() < deadline, "the redelivery never went out"
                time.sleep(0.05)
            at.run()
            assert table(at, "by hand")["response"].tolist() == [500, 200]
            assert table(at, "by hand")["by hand"].tolist() == [False, True]

            button(at, "Delete endpoint…").click()
            at.run()
            assert any(receiver.url in w.value for w in at.warning)
            assert webhooks.list_endpoints(actor=owner) != []  # not before the confirmation
            button(at, f"Yes, delete {receiver.url}").click()
            at.run()
            assert not at.exception
            assert webhooks.list_endpoints(actor=owner) == []
        finally:
            get_settings.cache_clear()


def test_a_private_webhook_url_is_refused_on_the_page(owner, monkeypatch):
    monkeypatch.setenv("CRAWL_ALLOW_PRIVATE", "")
    get_settings.cache_clear()
    try:
        at = settings_page(owner)
        at.text_input(key="settings_hook_url").set_value("http://169.254.169.254/latest/meta-data/")
        at.multiselect(key="settings_hook_events").set_value(["lead.created"])
        button(at, "Add endpoint").click()
        at.run()
    finally:
        get_settings.cache_clear()
    assert any("cannot be used" in e.value for e in at.error)
    assert webhooks.list_endpoints(actor=owner) == []


def test_a_member_sees_no_key_or_webhook_forms(owner):
    from core.actor import Actor

    member = Actor(
        user_id=owner.user_id, email=owner.email, workspace_id=owner.workspace_id, workspace_name="w", role="member"
    )
    at = settings_page(member)
    infos = [i.value for i in at.info]
    assert any("API keys" in i for i in infos) and any("webhook endpoints" in i for i in infos)
    assert not [b for b in at.button if b.label in ("Create key", "Add endpoint")]
