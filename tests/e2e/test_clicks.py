"""Issue 18 items 1-7: clicks act on the record they show, or on nothing and say so. In Chromium, against the
real processes (UI, receiver, rq worker) on PostgreSQL and Redis; one stack for the module.

Hostile cases: sort then act, a stale button in a second tab, a double click, a reload, a deep link after a
restart. Each test signs up its own workspace (through core, in the stack's environment) so they do not meet.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from core.config import PROJECT_ROOT
from tests.e2e.stack import run_stack, schema_name
from tests.e2e.test_journey import go, open_tab, shot, wait_text
from tests.fixtures.sites import generate_sites
from tests.fixtures.strategy_answer import strategy_answer

PASSWORD = "a long password for e2e"

SEED = r"""
import json, sys
from core.auth import service as auth
from core.db import UnitOfWork
from core.leads.repository import upsert_lead
spec = json.loads(sys.argv[1])
auth.sign_up(email=spec["email"], password=spec["password"], workspace_name="Team " + spec["email"], display_name="T")
signed = auth.sign_in(email=spec["email"], password=spec["password"])
workspace_id = signed.workspaces[0][0]
ids = {}
with UnitOfWork() as uow:
    for lead in spec["leads"]:
        row, _ = upsert_lead(uow, workspace_id=workspace_id, domain=lead["domain"],
                             website="https://" + lead["domain"] + "/", name=lead["name"], source="csv")
        for key, value in lead.get("fields", {}).items():
            setattr(row, key, value)
        uow.flush()
        if lead.get("email"):
            from core.leads.repository import upsert_contact
            upsert_contact(uow, lead=row, kind="email", value=lead["email"])
            uow.flush()
        ids[lead["name"]] = row.id
    uow.commit()
campaigns = []
if spec.get("campaigns"):
    from core.strategy import service as strategy
    actor = auth.actor_for(user_id=signed.user_id, workspace_id=workspace_id)
    for goal in spec["campaigns"]:
        version = strategy.create_campaign_from_goal(actor=actor, goal=goal)
        campaigns.append(version.campaign_id)
if spec.get("drafts"):
    from core.outreach import service as outreach
    actor = auth.actor_for(user_id=signed.user_id, workspace_id=workspace_id)
    template = outreach.save_template(actor=actor, name="Hello", channel="email", subject="Hello {{ company }}",
                                      body="Hello {{ company }}, we make boxes.")
    outreach.create_drafts(actor=actor, template_id=template, lead_ids=list(ids.values()))
print(json.dumps({"workspace_id": workspace_id, "user_id": signed.user_id, "ids": ids, "campaigns": campaigns}))
"""


def answer_for(payload: dict) -> dict:
    if schema_name(payload) == "StrategyDraft":
        return strategy_answer(queries=[{"text": "software agency berlin", "intent": "direct"}])
    if schema_name(payload) == "SummaryAnswer":
        return {
            "summary": "An agency.",
            "sells": [],
            "industry": "software agency",
            "size_cues": [],
            "location": "",
            "sources": [],
        }
    if schema_name(payload) == "FitJudgement":
        return {"fit": 50, "reasons": []}
    return {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    sites = generate_sites(3, seed=18, quirks=False)
    with run_stack(sites=sites, answer_for=answer_for, logs=tmp_path_factory.mktemp("e2e-clicks")) as running:
        yield running


@contextmanager
def tab_of(browser: Browser, name: str) -> Iterator[Page]:
    """A fresh browser profile (its own cookies) with one tab; a screenshot when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1100})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        yield page
    except Exception:
        shot(page, f"failure-{name}")
        raise
    finally:
        context.close()


def seed(stack, leads: list[dict[str, Any]] = (), campaigns: list[str] = (), drafts: bool = False) -> dict[str, Any]:
    """A new account with its own workspace and these leads, made through core in the stack's environment."""
    spec = {
        "email": f"u{secrets.token_hex(4)}@seller.example",
        "password": PASSWORD,
        "leads": list(leads),
        "campaigns": list(campaigns),
        "drafts": drafts,
    }
    done = subprocess.run(
        [sys.executable, "-c", SEED, json.dumps(spec)],
        cwd=PROJECT_ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "email": spec["email"]}


def sql(stack, query: str, **params: Any) -> list[tuple]:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query), params)]
    finally:
        engine.dispose()


def sign_in(page: Page, stack, email: str, path: str = "/") -> None:
    page.goto(stack.app_url + path)
    open_tab(page, "Sign in")
    page.get_by_label("Email").first.fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    wait_text(page, f"Signed in as {email}")


def open_leads(page: Page, stack) -> None:
    go(page, stack, "Leads")
    wait_text(page, re.compile(r"\d+ leads match"))


def click_row(page: Page, row: int) -> None:
    """Tick the table's checkbox of row ``row`` (0-based); the grid is a canvas."""
    table = page.get_by_test_id("stDataFrame").first
    page.locator("[role=gridcell]").first.wait_for(state="attached")
    page.wait_for_timeout(700)  # the grid draws its canvas after the cells exist
    box = table.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 17 + 35 * row)


def pick(page: Page, label: str, option: str | re.Pattern[str]) -> None:
    page.get_by_role("combobox", name=label).click()
    page.get_by_role("option", name=option).first.click()


# 7. Deep links after a restart ------------------------------------------------------------------------------------


def test_a_deep_link_after_a_restart_signs_in_then_opens_that_page_with_its_filters(stack, browser):
    """Before: /leads as the first request after a restart ran pages/leads.py on its own, under Streamlit's raw list
    of every module in pages/, and said "Sign in" even to a signed-in user."""
    account = seed(
        stack,
        leads=[
            {"name": "Deep Link Bakery", "domain": "deeplink-bakery.test"},
            {"name": "Other Roasters", "domain": "other-roasters.test"},
        ],
    )
    stack.restart("app")
    with tab_of(browser, "deep-link") as page:
        page.goto(stack.app_url + "/leads?q=Bakery")
        expect(page.get_by_role("tab", name="Sign in")).to_be_visible()
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)  # no list of modules
        page.get_by_label("Email").first.fill(account["email"])
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        wait_text(page, f"Signed in as {account['email']}")
        expect(page.get_by_role("heading", name=re.compile(r"\bLeads$"))).to_be_visible()
        wait_text(page, "1 leads match")  # the filter of the link
        expect(page.get_by_label("Search name, domain, industry, summary, notes")).to_have_value("Bakery")
        page.wait_for_load_state("networkidle")
        assert "/leads" in page.url

        # Signed in (the cookie), after another restart: the link opens the page, not a sign-in form
        stack.restart("app")
        page.goto(stack.app_url + "/leads?q=Roasters")
        wait_text(page, f"Signed in as {account['email']}")
        wait_text(page, "1 leads match")
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(1)  # our navigation
        expect(page.get_by_role("link", name="Strategy")).to_be_visible()
        expect(page.get_by_role("link", name="leads_csv")).to_have_count(0)


# 2. Selection is a set of lead ids ----------------------------------------------------------------------------------


def test_sort_then_act_acts_on_the_ticked_leads_and_the_selection_survives_search(stack, browser):
    """Before: after a new sort the tick stayed on row 1 (now another lead), "Selected leads" was empty, and a
    new search dropped the selection."""
    account = seed(
        stack,
        leads=[
            {"name": "Alpha Works", "domain": "alpha-works.test", "fields": {"score": 10.0}},
            {"name": "Bravo Works", "domain": "bravo-works.test", "fields": {"score": 90.0}},
            {"name": "Charlie Works", "domain": "charlie-works.test", "fields": {"score": 50.0}},
        ],
    )
    ids = account["ids"]
    with tab_of(browser, "sort-then-act") as page:
        sign_in(page, stack, account["email"])
        open_leads(page, stack)
        click_row(page, 0)  # score, descending: Bravo first
        wait_text(page, "1 selected")
        wait_text(page, f"Acting on 1 lead: Bravo Works (#{ids['Bravo Works']})")

        pick(page, "Sort by", "name")  # descending: Charlie, Bravo, Alpha
        page.wait_for_load_state("networkidle")
        wait_text(page, f"Acting on 1 lead: Bravo Works (#{ids['Bravo Works']})")
        click_row(page, 2)  # Alpha
        wait_text(page, "2 selected")
        wait_text(page, f"Acting on 2 leads: Bravo Works (#{ids['Bravo Works']}), Alpha Works (#{ids['Alpha Works']})")

        page.get_by_label("Search name, domain, industry, summary, notes").fill("Charlie")
        page.keyboard.press("Enter")
        wait_text(page, "1 leads match")
        wait_text(page, "2 selected")  # the search did not drop them

        pick(page, "Set status", "qualified")
        page.get_by_role("button", name="Set status").click()
        wait_text(page, re.compile(r"Set 2 leads to qualified: 2 leads: Bravo Works .*Alpha Works"))
    statuses = dict(sql(stack, "SELECT name, status FROM lead WHERE workspace_id = :w", w=account["workspace_id"]))
    assert statuses == {"Alpha Works": "qualified", "Bravo Works": "qualified", "Charlie Works": "new"}


def test_select_all_matching_takes_every_page(stack, browser):
    leads = [{"name": f"Many {n:02d}", "domain": f"many-{n:02d}.test"} for n in range(55)]
    leads.append({"name": "Not Matching", "domain": "elsewhere.test"})
    account = seed(stack, leads=leads)
    with tab_of(browser, "select-all") as page:
        sign_in(page, stack, account["email"])
        open_leads(page, stack)
        page.get_by_label("Search name, domain, industry, summary, notes").fill("Many")
        page.keyboard.press("Enter")
        wait_text(page, "55 leads match")
        page.get_by_role("button", name="Select all 55 matching").click()
        wait_text(page, "55 selected")
        wait_text(page, re.compile(r"Acting on 55 leads: Many 00 .* and 45 more"))


# 1. Merge keyed by the group's leads ---------------------------------------------------------------------------------


def test_merge_acts_on_the_group_it_shows_and_a_stale_or_double_click_merges_nothing_else(stack, browser):
    """Before: after merging group 1 the list still showed it, and clicking its button merged group 2."""
    account = seed(
        stack,
        leads=[
            {"name": "Acme GmbH", "domain": "acme.de"},
            {"name": "Acme Inc", "domain": "acme.com"},
            {"name": "Bolt GmbH", "domain": "bolt.de"},
            {"name": "Bolt Inc", "domain": "bolt.com"},
        ],
    )
    ids = account["ids"]
    acme = re.compile(r"Acme GmbH \(#\d+\), Acme Inc|Acme Inc \(#\d+\), Acme GmbH")
    with tab_of(browser, "merge") as page:
        sign_in(page, stack, account["email"])
        open_leads(page, stack)
        open_tab(page, "Duplicates")
        page.get_by_role("button", name="Find duplicates").click()
        expect(page.get_by_role("button", name="Merge the others into it")).to_have_count(2)

        # A second tab of the same browser shows the same groups (its own session)
        other = page.context.new_page()
        other.set_default_timeout(30_000)
        other.goto(page.url)
        wait_text(other, re.compile(r"\d+ leads match"))
        open_tab(other, "Duplicates")
        other.get_by_role("button", name="Find duplicates").click()
        expect(other.get_by_role("button", name="Merge the others into it")).to_have_count(2)

        page.get_by_role("button", name="Merge the others into it").first.click()
        wait_text(page, re.compile(r"Merged Acme \w+ \(#\d+\) into Acme \w+ \(#\d+\)"))
        expect(page.get_by_text(acme)).to_have_count(0)  # the merged group left the list at once
        expect(page.get_by_role("button", name="Merge the others into it")).to_have_count(1)

        other.get_by_role("button", name="Merge the others into it").first.click()  # stale: the Acme group
        wait_text(other, "Nothing was merged")
        assert (
            len(
                sql(
                    stack,
                    "SELECT id FROM lead WHERE name LIKE 'Bolt%' AND workspace_id = :w",
                    w=account["workspace_id"],
                )
            )
            == 2
        )
        expect(other.get_by_role("button", name="Merge the others into it")).to_have_count(1)

        page.get_by_role("button", name="Merge the others into it").first.dblclick()  # Bolt, twice
        wait_text(page, re.compile(r"Merged Bolt \w+ \(#\d+\) into Bolt \w+ \(#\d+\)"))
        wait_text(page, "No duplicates found.")
    merged = sql(
        stack,
        "SELECT detail FROM audit_event WHERE action = 'lead.merged' AND workspace_id = :w",
        w=account["workspace_id"],
    )
    merged_ids = sorted((d if isinstance(d, dict) else json.loads(d))["merged_id"] for (d,) in merged)
    assert len(merged_ids) == 2
    assert set(merged_ids) <= set(ids.values())
    left = {name for (name,) in sql(stack, "SELECT name FROM lead WHERE workspace_id = :w", w=account["workspace_id"])}
    assert (
        len(left) == 2 and sum(n.startswith("Acme") for n in left) == 1 and sum(n.startswith("Bolt") for n in left) == 1
    )


def test_a_reload_right_after_merge_leaves_it_done_once_or_not_at_all_and_shown_as_it_is(stack, browser):
    """Reload mid-action: the merge either happened once or not at all, and the reloaded page shows which."""
    account = seed(
        stack, leads=[{"name": "Cora GmbH", "domain": "cora.de"}, {"name": "Cora Inc", "domain": "cora.com"}]
    )
    workspace = account["workspace_id"]

    def merges() -> int:
        rows = sql(
            stack, "SELECT count(*) FROM audit_event WHERE action = 'lead.merged' AND workspace_id = :w", w=workspace
        )
        return int(rows[0][0])

    with tab_of(browser, "merge-reload") as page:
        sign_in(page, stack, account["email"])
        open_leads(page, stack)
        open_tab(page, "Duplicates")
        page.get_by_role("button", name="Find duplicates").click()
        page.get_by_role("button", name="Merge the others into it").click(no_wait_after=True)
        page.reload()
        wait_text(page, re.compile(r"\d+ leads? match"))
        # the server may still be finishing the click the reload cut off: wait until the count stands still
        seen = [merges()]
        while len(seen) < 4 or len(set(seen[-4:])) > 1:
            page.wait_for_timeout(500)
            seen.append(merges())
        done = seen[-1]
        assert done in (0, 1)  # never twice, never half
        leads = sql(stack, "SELECT name FROM lead WHERE workspace_id = :w", w=workspace)
        assert len(leads) == 2 - done
        wait_text(page, re.compile(rf"{2 - done} leads? match"))
        open_tab(page, "Duplicates")
        page.get_by_role("button", name="Find duplicates").click()
        if done:
            wait_text(page, "No duplicates found.")
        else:
            expect(page.get_by_role("button", name="Merge the others into it")).to_have_count(1)


# 3. CSV mapping keyed by the file -----------------------------------------------------------------------------------


def test_a_second_csv_file_gets_its_own_guessed_mapping(stack, browser, tmp_path):
    """Before: the second file's City, Industry and Tags showed "— not in file —" (the first file's choices)."""
    account = seed(stack)
    first = tmp_path / "first.csv"
    first.write_text("Company,Website\nFirst Co,first-co.test\n")
    second = tmp_path / "second.csv"
    second.write_text("Company,Website,City,Industry,Tags\nSecond Co,second-co.test,Leeds,Bakery,warm\n")
    with tab_of(browser, "csv-mapping") as page:
        sign_in(page, stack, account["email"])
        open_leads(page, stack)
        open_tab(page, "Import CSV")
        page.locator("input[type=file]").set_input_files(str(first))
        expect(page.get_by_role("combobox", name="city", exact=True)).to_have_value("— not in file —")
        page.locator("input[type=file]").set_input_files(str(second))
        wait_text(page, "second.csv")
        expect(page.get_by_role("combobox", name="city", exact=True)).to_have_value("City")
        expect(page.get_by_role("combobox", name="industry", exact=True)).to_have_value("Industry")
        expect(page.get_by_role("combobox", name="tags", exact=True)).to_have_value("Tags")
        page.get_by_role("button", name="Import").click()
        wait_text(page, re.compile(r"Read 1 rows: 1 imported"))
    rows = sql(stack, "SELECT industry, location FROM lead WHERE workspace_id = :w", w=account["workspace_id"])
    assert len(rows) == 1 and rows[0][0] == "Bakery" and "Leeds" in rows[0][1]


# 4. The first "Analyse these websites" after approving ---------------------------------------------------------------


def test_the_first_analyse_after_approving_runs_on_the_campaign_shown(stack, browser):
    """Before: approving changed the campaign's label in the picker; the next click made it jump to the first
    campaign, and the pasted websites were never analysed (no run, no message)."""
    account = seed(stack, campaigns=["software agencies in Berlin", "bakeries in Leeds"])
    older, newer = account["campaigns"]
    with tab_of(browser, "analyse-after-approve") as page:
        sign_in(page, stack, account["email"])
        go(page, stack, "Strategy")
        pick(page, "Campaign", re.compile(rf"^#{older} "))
        page.wait_for_load_state("networkidle")
        wait_text(page, "Goal: software agencies in Berlin")
        page.get_by_role("button", name="Approve and run").click()
        wait_text(page, re.compile(r"Approved version 1 and started run \d+"))
        page.get_by_label("Websites to analyse (one per line)").fill(stack.site_server.url_of(stack.sites[0]))
        page.get_by_role("button", name="Analyse these websites").click()
        wait_text(page, re.compile(r"Run \d+ started\."))
        wait_text(page, "Goal: software agencies in Berlin")  # still the campaign shown
    runs = sql(stack, "SELECT campaign_id FROM run WHERE workspace_id = :w", w=account["workspace_id"])
    assert sorted(c for (c,) in runs) == [older, older]
    assert newer != older


# 5. Cancel is complete ----------------------------------------------------------------------------------------------


def test_cancel_ends_queued_sites_as_cancelled_and_the_campaign_stops_running(stack, browser):
    """Before: a cancelled run's queued sites stayed queued for ever and the campaign said "running"."""
    account = seed(stack, campaigns=["software agencies in Hamburg"])
    (campaign_id,) = account["campaigns"]
    with tab_of(browser, "cancel") as page:
        sign_in(page, stack, account["email"])
        go(page, stack, "Strategy")
        page.get_by_role("button", name="Approve and run").click()
        wait_text(page, re.compile(r"Run \d+ · done"), timeout=120_000)  # the search run of the approval
        stack.kill("worker")  # the crawl jobs wait in Redis, as 78 sites did in the report
        try:
            # Sites nobody crawled yet (the approval's run took the fixture sites): they only wait in the queue
            urls = "\n".join(f"https://cancel-{n}.example/" for n in range(len(stack.sites)))
            page.get_by_label("Websites to analyse (one per line)").fill(urls)
            page.get_by_role("button", name="Analyse these websites").click()
            wait_text(page, re.compile(r"Run \d+ started\."))
            page.get_by_role("button", name="Cancel run").click()
            wait_text(page, re.compile(rf"Run \d+ · cancelled · .* · {len(stack.sites)} cancelled"))
        finally:
            stack.start_worker()
        page.reload()
        wait_text(page, re.compile(rf"Run \d+ · cancelled · .*0/{len(stack.sites)} sites crawled"))
        expect(page.get_by_text(re.compile(r"status \*?\*?running"))).to_have_count(0)
    (status,) = sql(stack, "SELECT status FROM campaign WHERE id = :c", c=campaign_id)[0]
    assert status != "running"
    sites = sql(
        stack,
        "SELECT rs.status FROM run_site rs JOIN run r ON r.id = rs.run_id "
        "WHERE r.campaign_id = :c AND r.status = 'cancelled'",
        c=campaign_id,
    )
    assert sites and {s for (s,) in sites} == {"cancelled"}


# 6. Lists re-read after every action; 8. the open lead and filters in the URL --------------------------------------


def test_saved_and_deleted_leads_show_at_once_and_the_view_survives_a_reload(stack, browser):
    """Before: a saved lead kept its old status in the table; a deleted lead stayed in the table and in
    "Selected leads" with "Confirm delete" still ticked."""
    account = seed(
        stack,
        leads=[
            {"name": "Keep Me Ltd", "domain": "keep-me.test", "fields": {"score": 80.0}},
            {"name": "Delete Me Ltd", "domain": "delete-me.test", "fields": {"score": 20.0}},
        ],
    )
    ids = account["ids"]
    with tab_of(browser, "stale-views") as page:
        sign_in(page, stack, account["email"])
        open_leads(page, stack)
        click_row(page, 0)  # Keep Me: it opens in the detail
        wait_text(page, "1 selected")
        expect(page.get_by_role("heading", name="Keep Me Ltd")).to_be_visible()
        expect(page).to_have_url(re.compile(rf"[?&]lead={ids['Keep Me Ltd']}"))
        form = page.get_by_test_id("stForm")
        form.get_by_role("combobox", name="Status").click()
        page.keyboard.type("qualified")
        page.keyboard.press("Enter")
        expect(form.get_by_role("combobox", name="Status")).to_have_value("qualified")
        form.get_by_role("button", name="Save").click()
        wait_text(page, f"Saved Keep Me Ltd (#{ids['Keep Me Ltd']}).")
        expect(page.locator("[role=gridcell]").filter(has_text="qualified")).to_have_count(1)

        # Reload: the filters and the open lead come back from the URL
        page.get_by_label("Search name, domain, industry, summary, notes").fill("Ltd")
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"[?&]q=Ltd"))  # the view is in the URL
        expect(page).to_have_url(re.compile(rf"[?&]lead={ids['Keep Me Ltd']}"))
        page.reload()
        wait_text(page, "2 leads match")
        expect(page.get_by_label("Search name, domain, industry, summary, notes")).to_have_value("Ltd")
        expect(page.get_by_role("heading", name="Keep Me Ltd")).to_be_visible()

        # Delete one selected lead: it leaves the table, the selection and the open lead at once
        page.get_by_role("combobox", name="Selected leads").click()
        page.get_by_role("option", name=f"Delete Me Ltd (#{ids['Delete Me Ltd']})").click()
        page.keyboard.press("Escape")
        wait_text(page, "1 selected")
        page.get_by_text("Confirm delete of 1").click()
        page.get_by_role("button", name="Delete", exact=True).click()
        wait_text(page, re.compile(r"Deleted 1 of 1 lead: Delete Me Ltd"))
        wait_text(page, "1 leads match")
        expect(page.locator("[role=gridcell]").filter(has_text="Delete Me Ltd")).to_have_count(0)
        expect(page.get_by_text(re.compile(r"\d+ selected"))).to_have_count(0)
        expect(page.get_by_label(re.compile("Confirm delete"))).to_have_count(0)


def test_the_approve_picker_offers_only_messages_still_waiting(stack, browser):
    """After approving, the picker holds nothing and offers only the drafts still waiting; in a second tab that
    still shows the approved draft, picking it re-reads the list and leaves nothing picked."""
    account = seed(
        stack,
        drafts=True,
        leads=[
            {"name": "Draft One Ltd", "domain": "draft-one.test", "email": "hi@draft-one.test"},
            {"name": "Draft Two Ltd", "domain": "draft-two.test", "email": "hi@draft-two.test"},
        ],
    )
    with tab_of(browser, "approve-picker") as page:
        sign_in(page, stack, account["email"])
        go(page, stack, "Outreach")
        open_tab(page, "Drafts & approval")
        other = page.context.new_page()
        other.set_default_timeout(30_000)
        other.goto(page.url)
        open_tab(other, "Drafts & approval")
        wait_text(other, "Drafts (2)")

        pick(page, "Approve", re.compile("Draft One Ltd"))
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Approve selected").click()
        wait_text(page, "1 approved.")
        wait_text(page, "Drafts (1)")
        expect(page.get_by_role("button", name="Approve selected")).to_be_disabled()  # the picker holds nothing
        page.get_by_role("combobox", name="Approve").click()
        expect(page.get_by_role("option", name=re.compile("Draft One Ltd"))).to_have_count(0)
        expect(page.get_by_role("option", name=re.compile("Draft Two Ltd"))).to_have_count(1)
        page.keyboard.press("Escape")

        pick(other, "Approve", re.compile("Draft One Ltd"))  # stale: approved in the first tab
        other.keyboard.press("Escape")
        wait_text(other, "Drafts (1)")  # the pick re-read the drafts: the approved one left the picker
        expect(other.get_by_role("button", name="Approve selected")).to_be_disabled()
    statuses = sorted(
        s for (s,) in sql(stack, "SELECT status FROM message WHERE workspace_id = :w", w=account["workspace_id"])
    )
    assert statuses == ["approved", "draft"]
