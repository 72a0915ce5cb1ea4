"""Sequences in Chromium against the real processes (issue 16 §1): enrolment from the leads table names who is
enrolled and who is skipped before the click, and the Sequences page's buttons act on the contact whose row
they stand in (keyed by the enrolment's id), after a reload too."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from core.config import PROJECT_ROOT
from tests.e2e.stack import run_stack
from tests.e2e.test_clicks import answer_for, open_leads, seed, sign_in, sql, tab_of
from tests.e2e.test_journey import go, open_tab, wait_text
from tests.fixtures.sites import generate_sites

SEQUENCE = r"""
import json, sys
from core.auth import service as auth
from core.outreach import service as outreach
from core.sequences import service as sequences
from core.sequences.models import StepInput
spec = json.loads(sys.argv[1])
actor = auth.actor_for(user_id=spec["user_id"], workspace_id=spec["workspace_id"])
first = outreach.save_template(actor=actor, name="Opener", channel="email", subject="Hello {{ company }}",
                               body="Hi, a note for {{ company }}.")
second = outreach.save_template(actor=actor, name="Bump", channel="email", subject="Bump", body="Bumping this.")
steps = [StepInput(channel="email", template_id=first, delay_days=0),
         StepInput(channel="email", template_id=second, delay_days=2)]
print(json.dumps({"id": sequences.save_sequence(actor=actor, name=spec["name"], steps=steps)}))
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with run_stack(sites=generate_sites(1, seed=9, quirks=False), answer_for=answer_for,
                   logs=tmp_path_factory.mktemp("e2e-sequences")) as running:
        yield running


def make_sequence(stack, account, name: str) -> int:
    spec = {"user_id": account["user_id"], "workspace_id": account["workspace_id"], "name": name}
    done = subprocess.run([sys.executable, "-c", SEQUENCE, json.dumps(spec)], cwd=PROJECT_ROOT, env=stack.env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return int(json.loads(done.stdout.strip().splitlines()[-1])["id"])


def test_enrol_names_the_skipped_then_pause_acts_on_the_contact_in_its_row(stack, browser):
    account = seed(stack, leads=[
        {"name": "Seq Alpha", "domain": "seq-alpha.test", "email": "hi@seq-alpha.test"},
        {"name": "Seq Beta", "domain": "seq-beta.test", "email": "hi@seq-beta.test"},
        {"name": "Seq Gamma", "domain": "seq-gamma.test"},  # no address: skipped, and said so
    ])
    ids = account["ids"]
    make_sequence(stack, account, "Spring follow-up")
    with tab_of(browser, "sequences") as page:
        sign_in(page, stack, account["email"])
        open_leads(page, stack)
        picker = page.get_by_role("combobox", name="Selected leads")
        for count, name in enumerate(("Seq Alpha", "Seq Beta", "Seq Gamma"), start=1):
            expect(page.locator('[data-stale="true"]')).to_have_count(0, timeout=60_000)  # the last pick's run ended
            picker.click()
            page.get_by_role("option", name=f"{name} (#{ids[name]})").click()
            page.keyboard.press("Escape")
            wait_text(page, f"{count} selected")
        wait_text(page, re.compile(r"2 will be enrolled in Spring follow-up, 1 skipped: 1 .*"))
        page.get_by_role("button", name="Enrol 2", exact=True).click()
        wait_text(page, re.compile(r"Enrolled 2 in Spring follow-up; skipped 1"))
        enrolled = dict(sql(stack, "SELECT e.lead_id, e.id FROM enrollment e JOIN sequence s ON s.id = e.sequence_id "
                                   "WHERE s.workspace_id = :ws", ws=account["workspace_id"]))
        assert set(enrolled) == {ids["Seq Alpha"], ids["Seq Beta"]}

        go(page, stack, "Sequences")
        open_tab(page, "Contacts")
        wait_text(page, "Seq Beta")
        beta_row = page.get_by_test_id("stHorizontalBlock").filter(has_text="Seq Beta").last
        beta_row.get_by_role("button", name="Pause").click()
        wait_text(page, re.compile(r"Seq Beta.*paused"))
        states = dict(sql(stack, "SELECT lead_id, status FROM enrollment WHERE id IN (:a, :b)",
                          a=enrolled[ids["Seq Alpha"]], b=enrolled[ids["Seq Beta"]]))
        assert states == {ids["Seq Alpha"]: "active", ids["Seq Beta"]: "paused"}

        page.reload()  # the same view after a reload, and Resume acts on Beta again
        open_tab(page, "Contacts")
        beta_row = page.get_by_test_id("stHorizontalBlock").filter(has_text="Seq Beta").last
        beta_row.get_by_role("button", name="Resume").click()
        wait_text(page, re.compile(r"Seq Beta — active"))
        states = dict(sql(stack, "SELECT lead_id, status FROM enrollment WHERE id IN (:a, :b)",
                          a=enrolled[ids["Seq Alpha"]], b=enrolled[ids["Seq Beta"]]))
        assert states == {ids["Seq Alpha"]: "active", ids["Seq Beta"]: "active"}
