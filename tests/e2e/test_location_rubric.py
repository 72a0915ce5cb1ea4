"""Issue 18 items 13 and 17 in Chromium: places filter on the lead's country and city (aliases included) and
Insights charts them; the rubric editor shows the LLM judgement with its weight and never rescales the others.

The same kind of stack and the helpers of test_clicks.py; one stack for this module.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.stack import run_stack
from tests.e2e.test_clicks import answer_for, open_leads, pick, seed, sign_in, sql, tab_of
from tests.e2e.test_journey import go, wait_text
from tests.fixtures.sites import generate_sites


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    sites = generate_sites(1, seed=13, quirks=False)
    with run_stack(sites=sites, answer_for=answer_for, logs=tmp_path_factory.mktemp("e2e-places")) as running:
        yield running


PLACES = [
    {
        "name": "Leeds Roasters",
        "domain": "leeds-roasters.test",
        "fields": {"location": "1 High St, Leeds, LS1 4AP", "country": "GB", "city": "Leeds"},
    },
    {
        "name": "Paix Bakery",
        "domain": "paix-bakery.test",
        "fields": {"location": "12 rue de la Paix, 75002 Paris", "country": "FR", "city": "Paris"},
    },
    {
        "name": "Berlin Beans",
        "domain": "berlin-beans.test",
        "fields": {"location": "Kastanienallee 12, 10435 Berlin", "country": "DE", "city": "Berlin"},
    },
]


def place(page: Page, text: str) -> None:
    field = page.get_by_role("textbox", name="Place (country, city or address)")
    field.fill(text)
    field.press("Enter")
    page.wait_for_load_state("networkidle")


def wait_lead_names(page: Page, expected: list[str], timeout: float = 30.0) -> None:
    """Wait until the table shows exactly these leads: "1 leads match" reads the same before and after a new
    filter, so the count alone cannot tell that the page has re-run."""
    deadline = time.monotonic() + timeout
    while (names := open_lead_names(page)) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    assert names == expected


def open_lead_names(page: Page) -> list[str]:
    """The names the "Open lead" picker offers: the leads of the current page of the table."""
    page.get_by_role("combobox", name="Open lead").click()
    names = [o.inner_text() for o in page.get_by_role("option").all()]
    page.keyboard.press("Escape")
    return [re.sub(r" \(#\d+\)$", "", n) for n in names if n != "choose a lead"]


def test_country_aliases_filter_the_country_and_insights_chart_countries_and_cities(stack, browser):
    """Before: "UK" and "GB" found nothing (the country is stored as GB but "UK" was compared with it), "DE"
    matched "rue de la Paix", and Insights bucketed whole street addresses."""
    account = seed(stack, leads=PLACES)
    with tab_of(browser, "places") as page:
        sign_in(page, stack, account["email"])
        open_leads(page, stack)
        wait_text(page, "3 leads match")
        for alias in ("UK", "United Kingdom"):
            place(page, alias)
            wait_text(page, "1 leads match")
            wait_lead_names(page, ["Leeds Roasters"])
        place(page, "DE")
        wait_text(page, "1 leads match")
        wait_lead_names(page, ["Berlin Beans"])  # not the bakery on the rue de la Paix
        place(page, "Deutschland")
        wait_text(page, "1 leads match")
        place(page, "")
        wait_text(page, "3 leads match")

        pick(page, "Country", "France (FR)")
        wait_text(page, "1 leads match")
        wait_lead_names(page, ["Paix Bakery"])
        page.reload()  # the country lives in the URL
        wait_text(page, "1 leads match")
        assert "country=FR" in page.url

        go(page, stack, "Insights")
        wait_text(page, "Leads by country")
        wait_text(page, "Germany (DE)")
        wait_text(page, "Leads by city")
        wait_text(page, "Paris (FR)")
        expect(page.get_by_text("rue de la Paix")).to_have_count(0)  # no street address as a bucket


def rubric_of_latest(stack, campaign_id: int) -> list[tuple[str, int]]:
    [(data,)] = sql(
        stack, "SELECT data FROM strategy_version WHERE campaign_id = :c ORDER BY version DESC LIMIT 1", c=campaign_id
    )
    data = json.loads(data) if isinstance(data, str) else data
    return [(f["factor"], f["weight"]) for f in data["rubric"]]


def test_the_rubric_editor_shows_the_llm_judgement_weight_and_keeps_weights_as_entered(stack, browser):
    """Before: the editor showed only the rules (50/30/20), and scoring silently rescaled them to 40/24/16 to add
    an "LLM judgement" of 20 nobody had entered. Now the judgement has its weight field, and a total that is not
    100 is refused as it stands instead of being scaled to fit."""
    account = seed(stack, campaigns=["coffee roasters in Portland"])
    [campaign_id] = account["campaigns"]
    assert rubric_of_latest(stack, campaign_id) == [("Roaster", 50), ("Online shop", 30), ("Portland", 20)]
    with tab_of(browser, "rubric") as page:
        sign_in(page, stack, account["email"])
        go(page, stack, "Strategy")
        wait_text(page, "Goal: coffee roasters in Portland")
        judgement = page.get_by_role("spinbutton", name="LLM judgement weight (0 = not part of the score)")
        expect(judgement).to_have_value("0", timeout=60_000)
        wait_text(page, "Weights add up to 100 (factors 100 + LLM judgement 0)")

        judgement.fill("20")
        judgement.press("Enter")
        wait_text(page, "Weights add up to 120 (factors 100 + LLM judgement 20)")  # nothing rescaled to fit
        page.get_by_role("button", name="Save as new version").click()
        wait_text(page, re.compile("rubric weights must add up to 100"))
        judgement.fill("0")  # removed again: the factors' own weights were never touched
        judgement.press("Enter")
        wait_text(page, "Weights add up to 100 (factors 100 + LLM judgement 0)")
    # nothing was saved behind the user's back; saving set or removed weights is pinned by the AppTest
    # tests/ui/test_goal_strategy_pages.py::test_the_llm_judgement_factor_is_shown_with_its_weight_and_can_be_set_or_removed
    assert rubric_of_latest(stack, campaign_id) == [("Roaster", 50), ("Online shop", 30), ("Portland", 20)]
