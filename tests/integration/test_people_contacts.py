"""People on the site (issue 14 section 5): a crawl of a local fixture site stores the people it names as
contacts with their evidence, never a guessed address, and drafts (template and AI) address the person."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from core import background
from core.background.runners import current_runner
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Contact, Evidence, Lead, Message
from core.leads import service as leads
from core.llm import OpenAILLM, load_prompt
from core.outreach import drafts
from core.outreach import service as outreach
from core.runs import service as runs
from core.runs.models import RunView
from core.strategy import service as strategy
from tests.conftest import unique
from tests.fixtures.openai_server import FakeOpenAI
from tests.fixtures.outreach_data import configure_workspace
from tests.fixtures.site_server import SiteServer
from tests.fixtures.sites import FixtureResponse

HTML = (("Content-Type", "text/html; charset=utf-8"),)


def _page(title: str, body: str, head: str = "") -> FixtureResponse:
    nav = '<a href="/">Start</a> <a href="/impressum">Impressum</a> <a href="/team">Team</a>'
    markup = (
        f'<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
        f"<body><nav>{nav}</nav><main>{body}</main></body></html>"
    )
    return FixtureResponse(body=markup.encode(), headers=HTML)


@dataclass
class FixtureCompany:
    """A German machining company whose Impressum names two managing directors and whose team page a sales lead."""

    host: str
    named_email: bool  # whether the Impressum shows Anna Schmidt's own address

    @property
    def domain(self) -> str:
        return self.host

    def pages(self) -> dict[str, FixtureResponse]:
        shown = f'<p>E-Mail: <a href="mailto:a.schmidt@{self.host}">a.schmidt@{self.host}</a></p>' if self.named_email else ""
        team_ld = json.dumps(
            {"@context": "https://schema.org", "@type": "Organization", "name": "Muster Fräsen GmbH",
             "employee": [{"@type": "Person", "name": "Carla Becker", "jobTitle": "Leiterin Vertrieb"}]},
            ensure_ascii=False,
        )
        return {
            "/": _page("Muster Fräsen GmbH", f"<h1>Muster Fräsen GmbH</h1><p>CNC-Fräsen in Stuttgart.</p>"
                       f'<p><a href="mailto:info@{self.host}">info@{self.host}</a></p>'),
            "/impressum": _page(
                "Impressum – Muster Fräsen GmbH",
                "<h1>Impressum</h1><p>Muster Fräsen GmbH<br>Industriestraße 4, 70565 Stuttgart</p>"
                "<p>Geschäftsführer: Dr. Hans-Peter Müller, Anna Schmidt</p>"
                f"<p>Registergericht: Amtsgericht Stuttgart HRB 12345</p>{shown}",
            ),
            "/team": _page(
                "Team – Muster Fräsen GmbH", "<h1>Unser Team</h1><p>Carla Becker leitet den Vertrieb.</p>",
                head=f'<script type="application/ld+json">{team_ld}</script>',
            ),
            "/robots.txt": FixtureResponse(body=b"User-agent: *\nAllow: /\n", headers=(("Content-Type", "text/plain"),)),
        }


@pytest.fixture
def web(monkeypatch) -> Iterator[tuple[SiteServer, dict[str, FixtureCompany]]]:
    companies: dict[str, FixtureCompany] = {}

    def route(host: str, path: str, _headers: dict[str, str]) -> FixtureResponse | None:
        company = companies.get(host)
        if company is None:
            return None
        return company.pages().get(path.split("?", 1)[0]) or FixtureResponse(status=404, body=b"not found")

    with SiteServer(routes=route) as server:
        for key, value in {
            "CRAWL_ALLOW_PRIVATE": "127.0.0.1/32",
            "CRAWL_ALLOWED_PORTS": f"80,443,{server.port}",
            "CRAWL_RESOLVE": "*.test=127.0.0.1",
            "CRAWL_PER_HOST_DELAY": "0",
        }.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        yield server, companies
    get_settings.cache_clear()


def wait_for_run(actor, run_id: int) -> RunView:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        view = runs.get_run_or_raise(actor=actor, run_id=run_id)
        if view.status in ("done", "cancelled") and not view.active_jobs:
            return view
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish: {view}")


def crawl(actor, web, *, named_email: bool = True) -> int:
    """Crawl one fixture company through a real run (pasted URL, embedded runner); returns its lead id."""
    server, companies = web
    company = FixtureCompany(host=f"{unique('muster')}.test", named_email=named_email)
    companies[company.host] = company
    plan = strategy.create_campaign_from_goal(actor=actor, goal="CNC-Fertigung in Baden-Württemberg", llm=None)
    strategy.approve(actor=actor, campaign_id=plan.campaign_id, version_id=plan.id)
    runner = background.EmbeddedRunner(get_settings())
    try:
        started = runs.start_run_from_urls(
            actor=actor, campaign_id=plan.campaign_id, urls_text=f"http://{company.host}:{server.port}/", runner=runner
        )
        assert wait_for_run(actor, started.run_id).sites_crawled == 1
    finally:
        runner.shutdown()
    with UnitOfWork() as uow:
        lead_id = uow.session.scalar(
            select(Lead.id).where(Lead.workspace_id == actor.workspace_id, Lead.domain == company.domain)
        )
    assert lead_id is not None
    return lead_id


def contacts_of(lead_id: int) -> dict[tuple[str, str], tuple[str, str, bool]]:
    with UnitOfWork() as uow:
        return {
            (c.kind, c.normalised_value): (c.person_name, c.person_title, c.is_role_address)
            for c in uow.session.scalars(select(Contact).where(Contact.lead_id == lead_id))
        }


def test_a_crawl_stores_the_people_it_finds_as_contacts_with_evidence_and_no_guessed_address(owner, web):
    lead_id = crawl(owner, web)
    host = next(iter(web[1]))
    contacts = contacts_of(lead_id)
    # Anna's address is on the Impressum: her email contact carries her name and title
    assert contacts[("email", f"a.schmidt@{host}")] == ("Anna Schmidt", "Geschäftsführer", False)
    # the other two have no address on any page: name-only contacts, and no address was made up for them
    assert contacts[("person", "dr. hans-peter müller")] == ("Dr. Hans-Peter Müller", "Geschäftsführer", False)
    assert contacts[("person", "carla becker")] == ("Carla Becker", "Leiterin Vertrieb", False)
    assert {value for kind, value in contacts if kind == "email"} == {f"info@{host}", f"a.schmidt@{host}"}

    with UnitOfWork() as uow:
        evidence = {
            e.value: (e.source_url, e.snippet)
            for e in uow.session.scalars(select(Evidence).where(Evidence.lead_id == lead_id, Evidence.field == "person"))
        }
    assert evidence[("Anna Schmidt (managing director)")][0].endswith("/impressum")
    assert "Geschäftsführer: Dr. Hans-Peter Müller, Anna Schmidt" in evidence["Anna Schmidt (managing director)"][1]
    assert evidence["Carla Becker (sales)"][0].endswith("/team")

    people = {p.name: p for p in leads.get_lead_detail_or_raise(actor=owner, lead_id=lead_id).people}
    assert {name: (p.role, p.email) for name, p in people.items()} == {
        "Anna Schmidt": ("managing director", f"a.schmidt@{host}"),
        "Dr. Hans-Peter Müller": ("managing director", ""),
        "Carla Becker": ("sales", ""),
    }
    assert people["Carla Becker"].source_url.endswith("/team") and "Carla Becker" in people["Carla Becker"].snippet

    # crawling the site again adds nothing: one contact per person
    runner = background.EmbeddedRunner(get_settings())
    token = current_runner.set(runner)
    try:
        [again] = runs.recrawl_leads(actor=owner, lead_ids=[lead_id])
        assert wait_for_run(owner, again).sites_crawled == 1
    finally:
        current_runner.reset(token)
        runner.shutdown()
    assert contacts_of(lead_id) == contacts


def test_a_template_draft_addresses_the_named_person_and_falls_back_to_the_generic_address(owner, web):
    configure_workspace(owner)
    named = crawl(owner, web, named_email=True)
    generic = crawl(owner, web, named_email=False)
    template = outreach.save_template(
        actor=owner, name=unique("tpl"), channel="email", subject="Frage an {{ contact.name | default(company) }}",
        body="{% if contact.first_name is defined %}Hallo {{ contact.first_name }}, als {{ contact.role }} "
             "({{ contact.title }}) entscheiden Sie{% else %}Guten Tag, Sie entscheiden{% endif %} bei {{ company }}.",
    )
    outcome = outreach.create_drafts(actor=owner, template_id=template, lead_ids=[named, generic])
    assert outcome.skipped == ()
    with UnitOfWork() as uow:
        sent = {
            m.lead_id: (c.value.split("@")[0], m.subject, m.body)
            for m, c in uow.session.execute(
                select(Message, Contact).join(Contact, Contact.id == Message.contact_id).where(Message.id.in_(outcome.created))
            )
        }
    assert sent[named] == (
        "a.schmidt", "Frage an Anna Schmidt",
        "Hallo Anna, als managing director (Geschäftsführer) entscheiden Sie bei Muster Fräsen GmbH.",
    )
    # no named person with an address: the generic one, and nobody's name is put in front of it
    assert sent[generic] == ("info", "Frage an Muster Fräsen GmbH", "Guten Tag, Sie entscheiden bei Muster Fräsen GmbH.")


def test_a_template_that_needs_a_name_lists_it_as_missing_for_a_lead_without_one(owner, web):
    configure_workspace(owner)
    generic = crawl(owner, web, named_email=False)
    template = outreach.save_template(
        actor=owner, name=unique("tpl"), channel="email", subject="Hallo {{ contact.first_name }}", body="{{ contact }}"
    )
    [row] = outreach.preview(actor=owner, template_id=template, lead_ids=[generic])
    assert row.missing == ("contact_first_name", "contact_name")
    assert outreach.create_drafts(actor=owner, template_id=template, lead_ids=[generic]).skipped == (
        (generic, "missing contact_first_name, contact_name"),
    )


@pytest.fixture
def llm() -> Iterator[tuple[OpenAILLM, FakeOpenAI]]:
    with FakeOpenAI() as fake:
        yield OpenAILLM(api_key="sk-test", base_url=fake.base_url, model="gpt-4o-mini", max_retries=1,
                        backoff_base_seconds=0.0, timeout_seconds=10, prices={"gpt-4o-mini": (0.15, 0.60)},
                        sleep=lambda _: None, rng=lambda: 0.0), fake


def test_an_ai_draft_is_asked_to_address_the_person_it_goes_to(owner, web, llm):
    client, server = llm
    configure_workspace(owner)
    named = crawl(owner, web, named_email=True)
    generic = crawl(owner, web, named_email=False)
    server.answer = {"subject": "Fräsen", "sentences": [
        {"text": "Hallo Anna,", "evidence_ids": [], "about_prospect": False, "new_paragraph": False},
        {"text": "wir liefern Werkzeuge.", "evidence_ids": [], "about_prospect": False, "new_paragraph": True}]}
    outcome = drafts.create_ai_drafts(workspace_id=owner.workspace_id, lead_ids=[named, generic], channel="email", llm=client)
    assert outcome.skipped == () and len(outcome.created) == 2
    first, second = server.requests
    assert first["messages"][0]["content"] == load_prompt("draft", 2).system
    assert "Address the recipient" in first["messages"][0]["content"]
    to_anna, to_info = first["messages"][-1]["content"], second["messages"][-1]["content"]
    assert "<recipient>\nname: Anna Schmidt\nrole: managing director\ntitle as written: Geschäftsführer\n</recipient>" in to_anna
    host = [h for h in web[1]][1]
    assert f"<recipient>\na generic address (info@{host}); no named person\n</recipient>" in to_info
    # the people are evidence the draft may cite (who runs the company), Anna's included
    assert "person: Anna Schmidt (managing director)" in to_anna
    with UnitOfWork() as uow:
        to = dict(uow.session.execute(
            select(Message.lead_id, Contact.value).join(Contact, Contact.id == Message.contact_id)
            .where(Message.id.in_(outcome.created))
        ).all())
    assert to == {named: f"a.schmidt@{next(iter(web[1]))}", generic: f"info@{host}"}


def test_a_person_first_seen_without_an_address_keeps_one_contact_once_an_address_shows(owner):
    from core.leads.repository import add_person
    from tests.fixtures.leads_data import make_lead

    lead_id = make_lead(owner, f"{unique('gruber')}.at", name="Gruber KG")
    with UnitOfWork() as uow:
        lead = uow.session.get(Lead, lead_id)
        add_person(uow, lead=lead, name="Maria  Gruber", title="Inhaberin")
        uow.commit()
    assert contacts_of(lead_id) == {("person", "maria gruber"): ("Maria Gruber", "Inhaberin", False)}
    with UnitOfWork() as uow:
        lead = uow.session.get(Lead, lead_id)
        add_person(uow, lead=lead, name="Maria Gruber", title="Inhaberin", email="M.Gruber@gruber.at")
        uow.commit()
    assert contacts_of(lead_id) == {("email", "m.gruber@gruber.at"): ("Maria Gruber", "Inhaberin", False)}
