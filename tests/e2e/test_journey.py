"""The whole journey in a real browser, against the real processes on real PostgreSQL and Redis.

sign up → goal → strategy → edit a query → approve → leads appear with evidence → filter →
select → draft → approve → send → sent → one-click unsubscribe → suppressed → second send refused.
Screenshots of every page go to tests/e2e/screenshots/.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.stack import run_stack, schema_name, user_data
from tests.fixtures.sites import generate_sites
from tests.fixtures.strategy_answer import strategy_answer

SHOTS = Path(__file__).resolve().parent / "screenshots"
EMAIL = "ana@seller.example"
PASSWORD = "a long password for e2e"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]


def answer_for(payload: dict) -> dict:
    """What the fake OpenAI says, by the schema each LeadScout prompt asks for."""
    name = schema_name(payload)
    if name == "StrategyDraft":
        return strategy_answer(queries=[{"text": f"software agency berlin {i}", "intent": "direct"} for i in range(6)])
    if name == "SummaryAnswer":
        return {"summary": "A software agency that builds web shops.", "sells": ["web shops"], "industry": "software agency",
                "size_cues": [], "location": "", "sources": []}
    if name == "FitJudgement":
        return {"fit": 80, "reasons": []}
    if name == "DraftAnswer":
        ids = [int(i) for i in re.findall(r"^\[(\d+)\]", user_data(payload), flags=re.M)]
        return {"subject": "Your web shops", "sentences": [
            {"text": "I read about the web shops you build.", "evidence_ids": ids[:1], "about_prospect": True, "new_paragraph": False},
            {"text": "We make compostable packaging for shops like yours.", "evidence_ids": [], "about_prospect": False, "new_paragraph": True},
        ]}
    return {}


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def go(page: Page, stack, title: str) -> None:
    page.get_by_role("link", name=title).first.click()
    page.wait_for_load_state("networkidle")


def open_tab(page: Page, name: str, timeout: float = 60_000) -> None:
    """Click the tab called ``name`` once the page has finished its run: while Streamlit re-runs a page whose
    layout moved, the old tab bar lingers (marked stale) beside the new one, and a click could hit either."""
    expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=timeout)
    tab = page.get_by_role("tab", name=name)
    expect(tab).to_have_count(1, timeout=timeout)
    tab.click()


def wait_text(page: Page, text: str | re.Pattern[str], timeout: float = 90_000) -> None:
    expect(page.get_by_text(text).first).to_be_visible(timeout=timeout)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    sites = generate_sites(4, seed=21, quirks=False)
    with run_stack(sites=sites, answer_for=answer_for, logs=tmp_path_factory.mktemp("e2e")) as running:
        yield running


def test_the_whole_journey(stack):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        try:
            journey(page, stack)
        except Exception:
            shot(page, "failure")
            raise
        finally:
            browser.close()


def journey(page: Page, stack) -> None:
    """Every step a user takes, with a screenshot of each page."""
    if True:
        page.goto(stack.app_url)

        # Sign up
        shot(page, "01-sign-in")
        open_tab(page, "Create account")
        page.get_by_label("Email").nth(1).fill(EMAIL)
        page.get_by_label("Your name").fill("Ana")
        page.get_by_role("textbox", name="Team or company name").fill("Seller Co")
        page.get_by_label("Password (10+ characters)").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        wait_text(page, f"Signed in as {EMAIL}")

        # Goal -> strategy
        page.get_by_label("Goal").fill("independent software agencies in Berlin that build web shops")
        shot(page, "02-goal")
        page.get_by_role("button", name="Generate strategy").click()
        expect(page.get_by_role("button", name="Save as new version")).to_be_visible(timeout=60_000)
        shot(page, "03-strategy")

        # Edit the first query in the grid (the cell is drawn on a canvas), save as version 2
        grid = page.get_by_test_id("stDataFrame").first
        page.locator("[role=gridcell]").nth(1).wait_for(state="attached")
        grid.scroll_into_view_if_needed()
        page.wait_for_timeout(1500)  # the grid draws its canvas after the cells exist
        box = grid.bounding_box()
        page.mouse.dblclick(box["x"] + box["width"] * 0.35, box["y"] + 35 + 17)  # first row, query column
        editor = page.locator("textarea.gdg-input")
        editor.wait_for(state="visible")
        editor.fill("software agency berlin shopware")
        editor.press("Enter")
        expect(page.locator("[role=gridcell]").nth(1)).to_have_text("software agency berlin shopware")
        shot(page, "03b-query-edited")
        page.get_by_role("button", name="Save as new version").click()
        wait_text(page, "Saved version 2")
        wait_text(page, "added 'software agency berlin shopware'")

        # Approve version 2: the run starts in the worker and the runs panel follows it
        expect(page.get_by_role("combobox", name="Version to approve")).to_have_value("Version 2")
        page.get_by_role("button", name="Approve and run").click()
        wait_text(page, re.compile(r"started run \d+"))
        wait_text(page, re.compile(r"Run \d+ · done"), timeout=180_000)
        wait_text(page, re.compile(f"{len(stack.sites)}/{len(stack.sites)} sites crawled"))
        shot(page, "04-run-done")

        # Leads appear; filter to one, open it, see its evidence
        target = stack.sites[0]
        go(page, stack, "Leads")
        wait_text(page, f"{len(stack.sites)} leads match")
        shot(page, "05-leads")
        page.get_by_label("Search name, domain, industry, summary, notes").fill(target.truth.name)
        page.keyboard.press("Enter")
        wait_text(page, "1 leads match")
        # Select its row (the table's checkbox column): the selection opens its detail
        table = page.get_by_test_id("stDataFrame").first
        page.locator("[role=gridcell]").first.wait_for(state="attached")
        page.wait_for_timeout(500)
        box = table.bounding_box()
        page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)
        wait_text(page, "1 selected")
        wait_text(page, "A software agency that builds web shops.", timeout=60_000)  # the LLM summary job ran
        open_tab(page, "Evidence")
        evidence_cell = page.locator("[role=gridcell]").filter(has_text=target.truth.emails[0]).first
        evidence_cell.wait_for(state="attached")  # the evidence table lists the email with its page
        wait_text(page, f"Address: {target.truth.address}")
        shot(page, "06-lead-detail")
        page.get_by_role("button", name="Contact").click()

        # Outreach: sending rules first (every email carries the postal address)
        expect(page.get_by_role("tab", name="Sending rules")).to_be_visible()
        open_tab(page, "Sending rules")
        page.get_by_label("Postal address (added to every email)").fill("Seller Co, 1 Market St, Portland, OR 97204")
        # Send at any hour on any day, so the journey does not depend on when it runs
        thumbs = page.get_by_role("slider")
        thumbs.nth(0).focus()
        page.keyboard.press("Home")
        thumbs.nth(1).focus()
        page.keyboard.press("End")
        page.get_by_role("combobox", name="On these days").click()
        page.get_by_role("option", name="Sat").click()
        page.get_by_role("combobox", name="On these days").click()
        page.get_by_role("option", name="Sun").click()
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Save rules").click()
        wait_text(page, "Saved.")
        open_tab(page, "Drafts & approval")
        page.get_by_text("Draft with AI").first.click()
        page.get_by_role("button", name="Draft with AI").click()
        wait_text(page, "AI drafts created", timeout=120_000)
        shot(page, "07-drafts")
        page.get_by_role("combobox", name="Approve").click()
        page.get_by_role("option", name=re.compile(re.escape(target.truth.name))).click()
        page.keyboard.press("Escape")
        page.get_by_role("button", name="Approve selected").click()
        wait_text(page, "1 approved.")
        page.get_by_text(re.compile(r"Yes, send 1 message")).click()
        page.get_by_role("button", name="Send", exact=True).click()
        wait_text(page, "Sending in the background")

        # The worker sends through the SendGrid-speaking server; the log shows it sent
        deadline = time.monotonic() + 120
        while not stack.sendgrid.calls_to("sendgrid") and time.monotonic() < deadline:
            time.sleep(0.5)
        calls = stack.sendgrid.calls_to("sendgrid")
        assert len(calls) == 1
        page.reload()
        open_tab(page, "Message log")
        page.get_by_role("combobox", name="Details").click()
        page.get_by_role("option", name=re.compile(re.escape(target.truth.name) + r" \(sent\)")).click()
        wait_text(page, "Your web shops")
        shot(page, "08-message-log")

        # The unsubscribe link's one-click POST (RFC 8058), as a mail client sends it
        headers = calls[0]["json"].get("headers") or {}
        link = re.search(r"<(https?://[^>]+)>", headers["List-Unsubscribe"]).group(1)
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert httpx.post(link, data={"List-Unsubscribe": "One-Click"}).status_code == 200
        recipient = calls[0]["json"]["personalizations"][0]["to"][0]["email"]

        # The contact is on the suppression list, and a second message to it is refused
        page.reload()
        open_tab(page, "Suppression list")
        page.locator("[role=gridcell]").filter(has_text=recipient).first.wait_for(state="attached")
        shot(page, "09-suppression")
        open_tab(page, "Drafts & approval")
        page.get_by_role("combobox", name="Leads").click()
        # The unsubscribe made the lead do_not_contact: it is no longer offered for a new message at all
        expect(page.get_by_role("option", name=re.compile(re.escape(target.truth.name)))).to_have_count(0)
        page.keyboard.press("Escape")
        shot(page, "10-second-send-refused")
        assert len(stack.sendgrid.calls_to("sendgrid")) == 1
        assert len(stack.sendgrid.calls_to("sendgrid")) == 1

        # The remaining pages, for the record
        for number, (title, heading) in enumerate((("Insights", "Insights"), ("System", "System"), ("Settings", "Settings")), 11):
            go(page, stack, title)
            expect(page.get_by_role("heading", name=heading).first).to_be_visible()
            if title == "Insights":
                page.locator(".js-plotly-plot").first.wait_for()  # the charts draw after the page
                page.wait_for_timeout(1000)
            shot(page, f"{number}-{title.lower()}")


def test_the_session_stays_in_its_browser_and_only_the_app_signs_out(stack):
    """Sign-in survives a reload (the hand-off cookie, bound to this browser); a GET or a cross-site POST to
    /session/end changes nothing; the Sign out button (a same-origin POST) ends the session."""
    email = "bo@seller.example"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.goto(stack.app_url)
            open_tab(page, "Create account")
            page.get_by_label("Email").nth(1).fill(email)
            page.get_by_label("Your name").fill("Bo")
            page.get_by_role("textbox", name="Team or company name").fill("Bo Co")
            page.get_by_label("Password (10+ characters)").fill(PASSWORD)
            page.get_by_role("button", name="Create account").click()
            wait_text(page, f"Signed in as {email}")
            page.reload()
            wait_text(page, f"Signed in as {email}")  # the session cookie came through the hand-off

            assert page.request.get(f"{stack.app_url}/session/end", max_redirects=0).status == 405  # a link, an image
            cross_site = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
            assert page.request.post(f"{stack.app_url}/session/end", headers=cross_site, max_redirects=0).status == 403
            page.reload()
            wait_text(page, f"Signed in as {email}")

            ends = lambda response: response.url.endswith("/session/end")  # noqa: E731
            with page.expect_response(ends) as ended:
                page.get_by_role("button", name="Sign out").click()
            assert (ended.value.request.method, ended.value.status) == ("POST", 303)
            expect(page.get_by_role("tab", name="Create account")).to_be_visible()
            page.reload()
            expect(page.get_by_role("tab", name="Create account")).to_be_visible()  # the cookie is gone too
        except Exception:
            shot(page, "failure-sign-out")
            raise
        finally:
            browser.close()
