"""Addresses checked before sending (issue 16 §3) against a real DNS server on loopback (dnslib).

The server answers MX, A only, a null MX, a name without records, NXDOMAIN, and never answers one
name (the resolver times out). Nothing here asks a real resolver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from core.config import PROJECT_ROOT, get_settings
from core.db import UnitOfWork
from core.db.models import Contact, Message, MessageEvent
from core.errors import InvalidInput, NotFound
from core.leads.query import LeadFilter, count_leads
from core.outreach import address_checks, preflight, sender, service
from core.outreach.verify import DomainResolver, check_addresses, parse_nameservers
from tests.conftest import make_owner, unique
from tests.fixtures.dns_server import LocalDNS, Zones
from tests.fixtures.outreach_data import configure_workspace, make_lead, settings_for
from tests.fixtures.outreach_servers import ProviderServer

ZONES = Zones(
    mx={"shop.test", "mailinator.com", "gmail.com"},
    a_only={"aonly.test"},
    null_mx={"nullmx.test"},
    no_records={"empty.test"},
    nxdomain={"gone.test"},
    silent={"silent.test"},
)


@pytest.fixture(scope="module")
def dns_server():
    with LocalDNS(ZONES) as server:
        yield server


def resolver_of(server: LocalDNS, **kwargs) -> DomainResolver:
    return DomainResolver(nameservers=parse_nameservers(server.nameserver), timeout=0.5, **kwargs)


def test_each_answer_gives_its_state_and_reasons(dns_server):
    got = {
        c.address: (c.state, c.reasons)
        for c in check_addresses(
            [
                "Ana@Shop.test",
                "ana@aonly.test",
                "ana@nullmx.test",
                "ana@empty.test",
                "ana@gone.test",
                "ana@silent.test",
                "not an address",
                "info@shop.test",
                "someone@mailinator.com",
                "someone@gmail.com",
            ],
            resolver_of(dns_server),
        )
    }
    assert got["ana@shop.test"] == ("valid", ())
    state, reasons = got["ana@aonly.test"]
    assert state == "valid" and "no MX record" in reasons[0]  # RFC 5321 §5.1: the A host takes the mail
    assert got["ana@nullmx.test"][0] == "invalid" and "null MX" in got["ana@nullmx.test"][1][0]
    assert got["ana@empty.test"] == ("invalid", ("the domain has no MX, A or AAAA record",))
    assert got["ana@gone.test"] == ("invalid", ("the domain does not exist (NXDOMAIN)",))
    assert got["ana@silent.test"] == ("unknown", ("DNS did not answer in time",))
    assert got["not an address"][0] == "invalid" and got["not an address"][1][0].startswith("bad syntax")
    assert got["info@shop.test"] == ("valid", ("role account (a shared inbox, not a person)",))
    assert got["someone@mailinator.com"] == ("risky", ("disposable-mail domain",))
    assert got["someone@gmail.com"] == ("valid", ("free-mail domain",))


def test_one_lookup_per_domain_while_cached_and_again_once_expired(dns_server):
    clock = [1000.0]
    resolver = resolver_of(dns_server, cache_seconds=60, clock=lambda: clock[0])
    before = len(dns_server.queries)
    checks = check_addresses([f"p{i}@shop.test" for i in range(50)] + ["x@aonly.test"] * 20, resolver)
    assert {c.state for c in checks} == {"valid"}
    asked = dns_server.queries[before:]
    assert asked.count(("shop.test", "MX")) == 1
    assert asked.count(("aonly.test", "MX")) == 1 and asked.count(("aonly.test", "A")) == 1
    assert resolver.lookups == 2
    clock[0] += 61  # past DNS_CACHE_SECONDS: asked again
    check_addresses(["p1@shop.test"], resolver)
    assert dns_server.queries[before:].count(("shop.test", "MX")) == 2


def test_a_time_out_is_kept_only_briefly(dns_server):
    clock = [0.0]
    resolver = resolver_of(dns_server, cache_seconds=3600, clock=lambda: clock[0])
    assert check_addresses(["a@silent.test"], resolver)[0].state == "unknown"
    clock[0] += 30
    check_addresses(["a@silent.test"], resolver)
    assert resolver.lookups == 1  # still cached
    clock[0] += 31  # FAILURE_CACHE_SECONDS (60) passed; a definite answer would be kept an hour
    check_addresses(["a@silent.test"], resolver)
    assert resolver.lookups == 2


def test_dns_nameservers_parsing():
    assert parse_nameservers("127.0.0.1:5353, 10.0.0.2,[::1]:5300") == [
        ("127.0.0.1", 5353),
        ("10.0.0.2", 53),
        ("::1", 5300),
    ]
    assert parse_nameservers("") == []
    for bad in ("127.0.0.1:0", "127.0.0.1:dns", "127.0.0.1:70000"):
        with pytest.raises(InvalidInput, match="port"):
            parse_nameservers(bad)


def verify_cli(dns_server: LocalDNS, *addresses: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DNS_NAMESERVERS": dns_server.nameserver, "DNS_TIMEOUT_SECONDS": "0.5"}
    return subprocess.run(
        [sys.executable, "-m", "core", "verify-email", *addresses, "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_email_command_prints_json_and_exits_3_when_one_is_invalid(dns_server):
    done = verify_cli(dns_server, "ana@shop.test", "bob@gone.test", "x@mailinator.com")
    assert done.returncode == 3, done.stderr
    assert json.loads(done.stdout) == [
        {"address": "ana@shop.test", "state": "valid", "reasons": []},
        {"address": "bob@gone.test", "state": "invalid", "reasons": ["the domain does not exist (NXDOMAIN)"]},
        {"address": "x@mailinator.com", "state": "risky", "reasons": ["disposable-mail domain"]},
    ]
    ok = verify_cli(dns_server, "ana@aonly.test", "x@silent.test")
    assert ok.returncode == 0, ok.stderr  # no MX but an A record is deliverable; a time-out is unknown, not invalid
    assert [r["state"] for r in json.loads(ok.stdout)] == ["valid", "unknown"]


def contact_of(lead_id: int) -> Contact:
    with UnitOfWork() as uow:
        contact = uow.session.scalar(select(Contact).where(Contact.lead_id == lead_id, Contact.kind == "email"))
        uow.session.expunge(contact)
        return contact


def drafts(actor, lead_ids: list[int]) -> list[int]:
    template_id = service.save_template(
        actor=actor, name=unique("tpl"), channel="email", subject="Hi {{ first_name }}", body="Hello {{ company }}"
    )
    created = list(service.create_drafts(actor=actor, template_id=template_id, lead_ids=lead_ids).created)
    service.approve(actor=actor, message_ids=created)
    return created


def statuses(ids: list[int]) -> list[str]:
    with UnitOfWork() as uow:
        found = dict(uow.session.execute(select(Message.id, Message.status).where(Message.id.in_(ids))).all())
    return [found[i] for i in ids]


def test_queueing_refuses_invalid_holds_risky_until_confirmed_and_stores_the_check(owner, session_dns):
    gone = f"{unique('gone')}.test"
    session_dns.zones.nxdomain.add(gone)
    configure_workspace(owner)
    good = make_lead(owner, email=f"ana@{unique('ok')}.example.test")
    bad = make_lead(owner, email=f"bob@{gone}")
    risky = make_lead(owner, email=f"{unique('r')}@mailinator.com")
    ids = drafts(owner, [good, bad, risky])

    check = preflight.preflight(actor=owner, message_ids=ids)
    blocking = [p for p in check.problems if p.blocking]
    assert [p.message_id for p in blocking] == [ids[1]] and "does not exist" in blocking[0].what
    assert check.risky_ids == {ids[2]}
    assert {t.message_id for t in check.ready} == {ids[0], ids[2]}

    assert service.queue_for_sending(actor=owner, message_ids=ids) == 1
    assert statuses(ids) == ["queued", "failed", "approved"]  # risky waits for a confirmation
    with UnitOfWork() as uow:
        event = uow.session.scalar(
            select(MessageEvent).where(MessageEvent.message_id == ids[1]).order_by(MessageEvent.id.desc()).limit(1)
        )
        assert event.status == "failed" and "invalid" in event.detail and "NXDOMAIN" in event.detail
    stored = contact_of(bad)
    assert (stored.verification, stored.verification_reasons) == ("invalid", ["the domain does not exist (NXDOMAIN)"])
    assert stored.verified_at is not None
    assert contact_of(risky).verification == "risky" and contact_of(good).verification == "valid"

    assert service.queue_for_sending(actor=owner, message_ids=ids, include_risky=True) == 1
    assert statuses(ids) == ["queued", "failed", "queued"]
    # the stored states are what the leads filter reads
    assert count_leads(actor=owner, flt=LeadFilter(email_check="invalid")) == 1
    assert count_leads(actor=owner, flt=LeadFilter(email_check="risky")) == 1
    assert count_leads(actor=owner, flt=LeadFilter(email_check="valid")) == 1


def test_an_address_found_invalid_after_queueing_is_not_sent(owner, session_dns):
    domain = f"{unique('later')}.test"
    configure_workspace(owner)
    lead = make_lead(owner, email=f"ana@{domain}")
    [message_id] = drafts(owner, [lead])
    assert service.queue_for_sending(actor=owner, message_ids=[message_id]) == 1  # the domain had MX then
    session_dns.zones.nxdomain.add(domain)
    check = address_checks.verify_contact(actor=owner, contact_id=contact_of(lead).id)  # the lead page's re-check
    assert check.state == "invalid"
    with ProviderServer() as providers:
        summary = sender.send_queued(
            workspace_id=owner.workspace_id, settings=settings_for(providers.url, provider="sendgrid")
        )
        assert providers.calls_to("sendgrid") == []
    assert summary.sent == 0 and summary.suppressed == 1
    assert "address check found it invalid" in summary.details[0]
    assert statuses([message_id]) == ["failed"]


def test_verify_contact_is_scoped_to_the_workspace(owner):
    lead = make_lead(owner, email=f"ana@{unique('ok')}.example.test")
    other = make_owner()
    with pytest.raises(NotFound):
        address_checks.verify_contact(actor=other, contact_id=contact_of(lead).id)


def test_the_test_session_never_asks_a_real_resolver():
    assert get_settings().dns_nameservers.startswith("127.0.0.1:")


def test_stored_checks_look_domains_up_in_parallel_one_query_per_domain(owner):
    zones = Zones(mx={f"d{i}.parallel.test" for i in range(12)}, delay=0.2)
    lead_ids = [make_lead(owner, email=f"p{j}@d{i}.parallel.test") for i in range(12) for j in range(3)]
    contacts = [contact_of(lead_id).id for lead_id in lead_ids]
    with LocalDNS(zones) as server:
        checks = address_checks.refresh_contact_checks(contacts, resolver=resolver_of(server))
        assert server.queries.count(("d0.parallel.test", "MX")) == 1  # three addresses, one lookup
        assert len(server.queries) == 12
        assert server.max_in_flight > 1  # the domains were asked at the same time, not one after another
    assert {c.state for c in checks.values()} == {"valid"} and len(checks) == 36
    assert {contact_of(lead_id).verification for lead_id in lead_ids} == {"valid"}
