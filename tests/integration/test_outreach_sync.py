"""``sync-suppressions``: every page of Mailgun's and SendGrid's suppression lists, from local servers
speaking their APIs, lands once in the suppression list of each workspace that has the address."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys

import pytest

from core.config import PROJECT_ROOT
from core.errors import SendError
from core.outreach import suppression
from core.outreach.sync import sync_suppressions
from tests.conftest import make_owner, unique
from tests.fixtures.outreach_data import make_lead, settings_for
from tests.fixtures.outreach_servers import ProviderServer


@pytest.fixture
def server():
    with ProviderServer() as provider:
        provider.page_size = 2  # every list below spans more than one page
        yield provider


def addresses(prefix: str, count: int) -> list[str]:
    return [f"{unique(prefix)}@example.test" for _ in range(count)]


def rows(actor) -> set[tuple[str, str, str, str]]:
    return {(s.channel, s.address, s.reason, s.source) for s in suppression.list_suppressions(actor=actor)}


def mailgun_only(server_url: str):
    return settings_for(server_url, sendgrid_api_key=None)


def test_mailgun_lists_are_read_page_by_page_and_a_second_sync_adds_nothing(owner, server):
    other = make_owner()
    bounced, unsubscribed, complained = addresses("b", 3), addresses("u", 3), addresses("c", 3)
    shared = unsubscribed[0]  # a contact in both workspaces: suppressed in both
    for address in bounced + unsubscribed + complained:
        make_lead(owner, email=address)
    make_lead(other, email=shared)
    stranger = f"{unique('stranger')}@example.test"  # no workspace has it: nothing to suppress
    server.suppressions.update(
        bounces=[bounced[0].upper(), f"  {bounced[1]} ", bounced[2], stranger],
        unsubscribes=unsubscribed, complaints=[*complained, bounced[0], "not-an-address"])

    added = sync_suppressions(settings=mailgun_only(server.url))

    assert added == {"mailgun": 10}
    expected = ({("email", a, "bounced", "mailgun:sync") for a in bounced}
                | {("email", a, "unsubscribed", "mailgun:sync") for a in unsubscribed}
                | {("email", a, "complaint", "mailgun:sync") for a in complained})
    assert rows(owner) == expected  # addresses lower-cased and trimmed; the first list naming one wins
    assert rows(other) == {("email", shared, "unsubscribed", "mailgun:sync")}
    bounce_pages = [r["query"] for r in server.list_requests if r["path"] == "/v3/mg.example.test/bounces"]
    assert [(q.get("page"), q.get("address")) for q in bounce_pages] == [
        (None, None), ("next", f"  {bounced[1]} "), ("next", stranger)]  # the last page came back empty
    assert {r["auth"] for r in server.list_requests} == {"Basic " + base64.b64encode(b"api:key-test").decode()}

    assert sync_suppressions(settings=mailgun_only(server.url)) == {"mailgun": 0}
    assert rows(owner) == expected and len(suppression.list_suppressions(actor=other)) == 1


def test_sendgrid_lists_are_read_page_by_page(owner, server):
    bounced, spam = addresses("sb", 3), addresses("ss", 3)
    for address in bounced + spam:
        make_lead(owner, email=address)
    server.suppressions.update(bounces=bounced, spam_reports=spam, unsubscribes=[])

    assert sync_suppressions(settings=settings_for(server.url, mailgun_api_key=None)) == {"sendgrid": 6}
    assert rows(owner) == ({("email", a, "bounced", "sendgrid:sync") for a in bounced}
                           | {("email", a, "complaint", "sendgrid:sync") for a in spam})
    offsets = [r["query"]["offset"] for r in server.list_requests if r["path"] == "/v3/suppression/bounces"]
    assert offsets == ["0", "2", "3"]


def test_a_refused_list_stores_nothing_and_says_which(owner, server):
    make_lead(owner, email=(address := addresses("r", 1)[0]))
    server.suppressions.update(bounces=[address])
    with pytest.raises(SendError, match="Mailgun refused the bounces list"):
        sync_suppressions(settings=settings_for(server.url, sendgrid_api_key=None, mailgun_base_url=server.url + "/gone"))
    assert rows(owner) == set()


def test_the_command_line_syncs_mailgun_and_prints_what_was_new(owner, server):
    listed = addresses("cli", 3)
    for address in listed:
        make_lead(owner, email=address)
    server.suppressions.update(bounces=listed[:1], unsubscribes=listed[1:], complaints=[])
    env = {**os.environ, "MAILGUN_API_KEY": "key-test", "MAILGUN_DOMAIN": "mg.example.test",
           "MAILGUN_BASE_URL": server.url, "SENDGRID_API_KEY": ""}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "core", "sync-suppressions"], cwd=PROJECT_ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    first, second = run(), run()
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert json.loads(first.stdout) == {"added": {"mailgun": 3}}
    assert json.loads(second.stdout) == {"added": {"mailgun": 0}}
    assert rows(owner) == {("email", listed[0], "bounced", "mailgun:sync"),
                           *(("email", a, "unsubscribed", "mailgun:sync") for a in listed[1:])}
