"""Issue 18 items 18 and 19 in Chromium: roles that protect the team's data, and who may see the server.

One stack (UI, receiver, rq worker on PostgreSQL and Redis) with OPEN_SIGNUP left at its default. Accounts are
made the way an operator makes them (``core.auth.admin.create_user``), so the first account exists before any
visitor arrives, as on a real server after its first sign-up.
"""

from __future__ import annotations

import csv
import io
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
from tests.e2e.stack import run_stack
from tests.e2e.test_journey import go, open_tab, shot, wait_text
from tests.fixtures.sites import generate_sites

PASSWORD = "a long password for e2e"

SEED = r"""
import json, sys
from core.auth import admin
from core.auth.service import actor_for
from core.db import UnitOfWork
from core.leads import service as leads
from core.leads.repository import upsert_lead
spec = json.loads(sys.argv[1])
made = {role: admin.create_user(email=email, password=spec["password"], workspace_name=spec["workspace"], role=role)
        for role, email in spec["people"].items()}
workspace_id = made["owner"]["workspace_id"]
ids = {}
with UnitOfWork() as uow:
    for name in spec["leads"]:
        domain = name.lower().replace(" ", "-") + "-" + spec["tag"] + ".test"
        row, _ = upsert_lead(uow, workspace_id=workspace_id, domain=domain, website="https://" + domain + "/",
                             name=name, source="csv")
        row.status = "qualified"
        uow.flush()
        ids[name] = row.id
    uow.commit()
for name in spec.get("trashed", []):
    leads.delete_leads(actor=actor_for(user_id=made["admin"]["user_id"], workspace_id=workspace_id), lead_ids=[ids[name]])
print(json.dumps({"workspace_id": workspace_id, "ids": ids}))
"""


def answer_for(payload: dict) -> dict:
    return {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    sites = generate_sites(1, seed=19, quirks=False)
    with run_stack(
        sites=sites, answer_for=answer_for, logs=tmp_path_factory.mktemp("e2e-roles"), open_signup=False
    ) as running:
        yield running


@contextmanager
def tab_of(browser: Browser, name: str) -> Iterator[Page]:
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


def seed(stack, leads: list[str] = (), trashed: list[str] = ()) -> dict[str, Any]:
    """A workspace with an owner, an admin and a member, and these leads (``trashed`` deleted by the admin)."""
    tag = secrets.token_hex(4)
    people = {role: f"{role}-{tag}@seller.example" for role in ("owner", "admin", "member")}
    spec = {"people": people, "password": PASSWORD, "workspace": f"Team {tag}", "leads": list(leads),
            "trashed": list(trashed), "tag": tag}
    done = subprocess.run([sys.executable, "-c", SEED, json.dumps(spec)], cwd=PROJECT_ROOT, env=stack.env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return {**json.loads(done.stdout.strip().splitlines()[-1]), **people}


def sql(stack, query: str, **params: Any) -> list[tuple]:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query), params)]
    finally:
        engine.dispose()


def sign_in(page: Page, stack, email: str) -> None:
    page.goto(stack.app_url)
    open_tab(page, "Sign in")
    page.get_by_label("Email").first.fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    wait_text(page, f"Signed in as {email}")


def select_lead(page: Page, label: str) -> None:
    page.get_by_role("combobox", name="Selected leads").click()
    page.get_by_role("option", name=label).click()
    page.keyboard.press("Escape")
    wait_text(page, "1 selected")


def test_after_the_first_account_a_visitor_cannot_sign_up_without_an_invitation(stack, browser):
    """Before: sign-up was open by default, so anyone reaching the server got an account and a workspace."""
    seed(stack)  # the server's first accounts exist
    email = f"visitor-{secrets.token_hex(4)}@elsewhere.example"
    with tab_of(browser, "invitation-only") as page:
        page.goto(stack.app_url)
        open_tab(page, "Create account")
        page.get_by_label("Email").nth(1).fill(email)
        page.get_by_label("Your name").fill("Visitor")
        page.get_by_role("textbox", name="Team or company name").fill("Visitor Co")
        page.get_by_label("Password (10+ characters)").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        wait_text(page, "Sign-up is by invitation here")
        expect(page.get_by_text(f"Signed in as {email}")).to_have_count(0)
    assert sql(stack, "SELECT id FROM user_account WHERE email = :e", e=email) == []


def test_the_system_page_shows_server_details_to_owners_and_admins_only(stack, browser):
    """Before: any signed-in user's System page showed the database URL (the file path on SQLite)."""
    account = seed(stack)
    database = stack.database_url.rsplit("/", 1)[1]
    with tab_of(browser, "system-member") as page:
        sign_in(page, stack, account["member"])
        go(page, stack, "System")
        wait_text(page, "Jobs per hour")  # drawn after the checks
        expect(page.get_by_text(re.compile(re.escape(database)))).to_have_count(0)
        expect(page.get_by_text(re.compile(r"(PostgreSQL|SQLite) at|Redis at|redis://"))).to_have_count(0)
        expect(page.get_by_text("Database size")).to_have_count(0)
        wait_text(page, "Working")  # the checks are there, without where the server keeps things
    for role in ("owner", "admin"):
        with tab_of(browser, f"system-{role}") as page:
            sign_in(page, stack, account[role])
            go(page, stack, "System")
            wait_text(page, re.compile(rf"PostgreSQL at .*{re.escape(database)}"))
            wait_text(page, "Database size")


def test_a_member_cannot_delete_and_the_trash_restores_exactly_the_lead_clicked(stack, browser):
    """Before: a member deleted the owner's qualified lead and nothing could bring it back; now members get no
    Delete, and owners and admins restore from the Trash tab by lead id (another trashed lead stays there)."""
    account = seed(stack, leads=["Owner Bakery", "Keep Bakery", "Old Bakery"], trashed=["Old Bakery"])
    ids = account["ids"]
    with tab_of(browser, "member-no-delete") as page:
        sign_in(page, stack, account["member"])
        go(page, stack, "Leads")
        wait_text(page, "2 leads match")
        select_lead(page, f"Owner Bakery (#{ids['Owner Bakery']})")
        expect(page.get_by_role("button", name="Re-score")).to_be_visible()
        expect(page.get_by_role("button", name="Delete", exact=True)).to_have_count(0)
        expect(page.get_by_text(re.compile("Confirm delete"))).to_have_count(0)
        expect(page.get_by_role("tab", name="Trash")).to_have_count(0)

    with tab_of(browser, "owner-trash") as page:
        sign_in(page, stack, account["owner"])
        go(page, stack, "Leads")
        wait_text(page, "2 leads match")
        select_lead(page, f"Owner Bakery (#{ids['Owner Bakery']})")
        page.get_by_text("Confirm delete of 1").click()
        page.get_by_role("button", name="Delete", exact=True).click()
        wait_text(page, re.compile(r"Deleted 1 of 1 lead: Owner Bakery.*Trash tab"))
        wait_text(page, "1 leads match")

        open_tab(page, "Trash")
        expect(page.get_by_role("button", name=f"Restore Old Bakery (#{ids['Old Bakery']})")).to_be_visible()
        page.get_by_role("button", name=f"Restore Owner Bakery (#{ids['Owner Bakery']})").click()
        wait_text(page, f"Restored Owner Bakery (#{ids['Owner Bakery']}).")
        wait_text(page, "2 leads match")
        open_tab(page, "Trash")
        expect(page.get_by_role("button", name=re.compile("Restore Owner Bakery"))).to_have_count(0)
        expect(page.get_by_role("button", name=f"Restore Old Bakery (#{ids['Old Bakery']})")).to_be_visible()

    trashed = dict(sql(stack, "SELECT name, deleted_at IS NOT NULL FROM lead WHERE workspace_id = :w",
                       w=account["workspace_id"]))
    assert trashed == {"Owner Bakery": False, "Keep Bakery": False, "Old Bakery": True}


def test_a_background_import_says_one_rejected_count_everywhere_and_offers_every_rejected_row(stack, browser, tmp_path):
    """Issue 18 item 15. Before: a big (background) import said "640 rejected" above and "500 rows were not
    imported" below (the job lists only the first 500), and offered no rejected-rows file at all."""
    account = seed(stack)
    tag = secrets.token_hex(3)
    good = [f"Good {i},https://good-{i}-{tag}.com/,info@good-{i}-{tag}.com" for i in range(5000)]
    bad = [f"Bad {i},,not an email {i}" for i in range(640)]
    upload = tmp_path / "big.csv"
    upload.write_text("company,website,email\n" + "\n".join(good + bad) + "\n")
    with tab_of(browser, "import-counts") as page:
        sign_in(page, stack, account["member"])
        go(page, stack, "Leads")
        open_tab(page, "Import CSV")
        page.locator("input[type=file]").first.set_input_files(str(upload))
        wait_text(page, "big.csv: 5,640 rows")
        page.get_by_role("button", name="Import", exact=True).click()
        wait_text(page, "Read 5640 rows: 5000 imported, 0 updated, 0 skipped, 640 rejected.", timeout=180_000)
        wait_text(page, "640 rows were not imported. The first 500 are listed below.")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download rejected rows (CSV)").click()
        path = download.value.path()
        rows = list(csv.DictReader(io.StringIO(open(path, encoding="utf-8-sig").read())))
    assert len(rows) == 640 and {r["company"] for r in rows} == {f"Bad {i}" for i in range(640)}
