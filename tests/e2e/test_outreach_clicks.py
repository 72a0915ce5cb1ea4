"""Issue 18 items 8-11 on the Outreach page, in Chromium against the real processes (UI, receiver, rq worker)
on PostgreSQL and Redis: Contact opens the drafts, a flagged draft is edited into an approvable one, problems
are named with their fix before the confirmation (consent recorded there), and queued messages go by themselves.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from core.config import PROJECT_ROOT
from tests.e2e.stack import run_stack
from tests.e2e.test_clicks import answer_for, click_row, open_leads, pick, seed, sign_in, sql, tab_of
from tests.e2e.test_journey import go, open_tab, wait_text
from tests.fixtures.sites import generate_sites

RULES_OPEN = {
    "postal_address": "Seller Co, 1 Market St, Portland",
    "send_window": [0, 24],
    "send_weekdays": [0, 1, 2, 3, 4, 5, 6],
    "timezone": "Europe/Berlin",
}

EXTRA = r"""
import json, sys
from core.auth import service as auth
from core.db import UnitOfWork
from core.db.models import Contact, Message
from core.outreach import sending_settings
spec = json.loads(sys.argv[1])
actor = auth.actor_for(user_id=spec["user_id"], workspace_id=spec["workspace_id"])
if spec.get("rules"):
    sending_settings.update_outreach_settings(actor=actor, **spec["rules"])
out = {}
with UnitOfWork() as uow:
    for m in spec.get("messages", []):
        contact = Contact(workspace_id=actor.workspace_id, lead_id=m["lead_id"], kind=m["kind"], value=m["to"],
                          normalised_value=m["to"].lower())
        uow.session.add(contact)
        uow.flush()
        message = Message(workspace_id=actor.workspace_id, lead_id=m["lead_id"], contact_id=contact.id,
                          channel="email" if m["kind"] == "email" else "sms", subject=m.get("subject", ""),
                          body=m["body"], status=m["status"], flags=m.get("flags", []))
        uow.session.add(message)
        uow.flush()
        out[m["name"]] = message.id
    uow.commit()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with run_stack(sites=generate_sites(1, seed=8, quirks=False), answer_for=answer_for,
                   logs=tmp_path_factory.mktemp("e2e-outreach")) as running:
        yield running


def extra(stack, account: dict[str, Any], *, rules: dict | None = None, messages: list[dict] = ()) -> dict[str, int]:
    """Outreach rules and messages for a seeded account, written through core in the stack's environment."""
    spec = {"user_id": account["user_id"], "workspace_id": account["workspace_id"], "rules": rules,
            "messages": list(messages)}
    done = subprocess.run([sys.executable, "-c", EXTRA, json.dumps(spec)], cwd=PROJECT_ROOT, env=stack.env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def approve(page, message_id: int) -> None:
    """Pick the message in the Approve picker (typed: the list is long on a small screen) and click Approve."""
    page.get_by_role("combobox", name="Approve").click()
    page.keyboard.type(f"#{message_id} ")
    page.get_by_role("option", name=re.compile(rf"#{message_id} ")).first.click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Approve selected").click()


def drafts_tab(page) -> None:
    open_tab(page, "Drafts & approval")


# 11. Contact opens the drafts for the selection ----------------------------------------------------------------------


def test_contact_opens_the_drafts_tab_with_the_selected_leads(stack, browser):
    """Before: Contact opened the Outreach page on its Templates tab."""
    account = seed(stack, leads=[
        {"name": "Contact Me Ltd", "domain": "contact-me.test", "email": "hi@contact-me.test", "fields": {"score": 90.0}},
        {"name": "Not Me Ltd", "domain": "not-me.test", "email": "hi@not-me.test", "fields": {"score": 10.0}},
    ])
    ids = account["ids"]
    with tab_of(browser, "contact-opens-drafts") as page:
        sign_in(page, stack, account["email"])
        open_leads(page, stack)
        click_row(page, 0)
        wait_text(page, f"Acting on 1 lead: Contact Me Ltd (#{ids['Contact Me Ltd']})")
        page.get_by_role("button", name="Contact", exact=True).click()
        wait_text(page, "Email goes through")  # the Outreach page
        expect(page.get_by_role("tab", name="Drafts & approval")).to_have_attribute("aria-selected", "true",
                                                                                   timeout=30_000)
        expect(page.get_by_role("tab", name="Templates")).to_have_attribute("aria-selected", "false")
        leads = page.get_by_test_id("stMultiSelect").filter(has_text="Leads").first
        expect(leads).to_contain_text(f"Contact Me Ltd (new, #{ids['Contact Me Ltd']})")
        expect(leads).not_to_contain_text("Not Me Ltd")


# 9. A flagged draft: preview, edit, re-check, test to me, approve ----------------------------------------------------


def test_a_flagged_draft_is_edited_rechecked_tested_and_then_approved(stack, browser):
    """Before: no page showed or edited a draft; a flagged draft could never be approved."""
    account = seed(stack, leads=[{"name": "Flagged Bakery", "domain": "flagged-bakery.test"}])
    claim = "You won the city's best bread award in 2025."
    (message_id,) = extra(stack, account, rules=RULES_OPEN, messages=[{
        "name": "flagged", "lead_id": account["ids"]["Flagged Bakery"], "kind": "email", "to": "owner@flagged-bakery.test",
        "subject": "Your bread", "status": "draft", "body": f"Hello Flagged Bakery team.\n\n{claim} We make boxes.",
        "flags": [{"sentence": claim, "blocking": True, "reason": "states a fact about the prospect without evidence"}],
    }]).values()
    with tab_of(browser, "flagged-draft") as page:
        sign_in(page, stack, account["email"])
        go(page, stack, "Outreach")
        drafts_tab(page)
        pick(page, "Review and edit a draft", re.compile(rf"^#{message_id} Flagged Bakery"))
        wait_text(page, "Not approvable yet — no evidence for")
        wait_text(page, "Seller Co, 1 Market St, Portland")  # the preview shows the footer the sender adds

        page.get_by_role("button", name="Approve selected").wait_for()
        approve(page, message_id)
        wait_text(page, f"#{message_id}: has claims without evidence; edit it first")

        # Only re-wrapping the sentence keeps it flagged; removing it clears the flag
        page.get_by_label("Message", exact=True).fill("Hello Flagged Bakery team.\n\nYou won the city's best bread\naward in 2025. We make boxes.")
        page.get_by_role("button", name=f"Save #{message_id} and re-check").click()
        wait_text(page, f"Saved #{message_id}; still no evidence for")
        page.get_by_label("Message", exact=True).fill("Hello Flagged Bakery team.\n\nWe make boxes for bakeries.")
        page.get_by_role("button", name=f"Save #{message_id} and re-check").click()
        wait_text(page, f"Saved #{message_id}: the evidence check passed")
        expect(page.get_by_text("edit before approving")).to_have_count(0)

        page.get_by_role("button", name=f"Send a test of #{message_id} to me").click()
        wait_text(page, f"Test of #{message_id} sent to {account['email']} through sendgrid")

        # The refused draft is still picked (its id did not leave the drafts); now the same click approves it
        expect(page.get_by_test_id("stMultiSelect").filter(has_text="Approve")).to_contain_text(f"#{message_id} ")
        page.get_by_role("button", name="Approve selected").click()
        wait_text(page, "1 approved.")
    (row,) = sql(stack, "SELECT status, body FROM message WHERE id = :m", m=message_id)
    assert row == ("approved", "Hello Flagged Bakery team.\n\nWe make boxes for bakeries.")
    tests = [c for c in stack.sendgrid.calls_to("sendgrid")
             if c["json"]["personalizations"][0]["to"][0]["email"] == account["email"]]
    assert len(tests) == 1 and tests[0]["json"]["subject"] == "[Test] Your bread"


# 10. Problems named with their fix before the confirmation ----------------------------------------------------------


def test_problems_are_named_before_the_confirmation_and_fixed_from_the_page(stack, browser):
    """Before: the From address could not be set on the page, and the SMS consent the problem asked for had no
    place to be recorded; the confirmation counted messages without naming them."""
    account = seed(stack, leads=[
        {"name": "Texting Garage", "domain": "texting-garage.test"},
        {"name": "Mailing Garage", "domain": "mailing-garage.test"},
    ])
    ids = extra(stack, account, rules={**RULES_OPEN, "from_email": "outreach@localhost"}, messages=[
        {"name": "sms", "lead_id": account["ids"]["Texting Garage"], "kind": "phone", "to": "+4915112345678",
         "status": "approved", "body": "Hi from Seller"},
        {"name": "email", "lead_id": account["ids"]["Mailing Garage"], "kind": "email", "to": "hi@mailing-garage.test",
         "subject": "Hello", "status": "approved", "body": "Hello Mailing Garage"},
    ])
    with tab_of(browser, "preflight-fixes") as page:
        sign_in(page, stack, account["email"])
        go(page, stack, "Outreach")
        drafts_tab(page)
        wait_text(page, "All email: From address: 'outreach@localhost'")
        wait_text(page, f"#{ids['sms']}: No SMS consent is recorded for +4915112345678")
        wait_text(page, "Yes, send 0 message(s) now")

        open_tab(page, "Sending rules")
        page.get_by_role("textbox", name="From address").fill("ana@seller-garage.de")
        page.get_by_role("button", name="Save rules").click()
        wait_text(page, "Saved.")
        drafts_tab(page)
        expect(page.get_by_text("From address: 'outreach@localhost'")).to_have_count(0)
        wait_text(page, re.compile(rf"Yes, send 1 message\(s\) now: #{ids['email']} Mailing Garage"))

        page.get_by_label("Where the consent comes from").fill("signed order 4711")
        page.get_by_role("button", name="Record consent for +4915112345678").click()
        wait_text(page, "SMS consent for +4915112345678 recorded (signed order 4711")
        expect(page.get_by_text("No SMS consent is recorded")).to_have_count(0)
        wait_text(page, re.compile(r"Yes, send 2 message\(s\) now: .*Texting Garage .*Mailing Garage"))
    (source,) = sql(stack, "SELECT sms_consent_source FROM contact WHERE value = '+4915112345678' AND workspace_id = :w",
                    w=account["workspace_id"])[0]
    assert source == "signed order 4711"


# 8. Queued messages go by themselves ---------------------------------------------------------------------------------


def test_a_waiting_message_shows_when_it_goes_and_is_sent_by_the_scheduled_sender(stack, browser):
    """Before: a message held back by the sending rules stayed queued for ever, and the page did not say why."""
    account = seed(stack, leads=[{"name": "Waiting Works", "domain": "waiting-works.test"}])
    (message_id,) = extra(stack, account, rules={**RULES_OPEN, "send_weekdays": []}, messages=[{
        "name": "queued", "lead_id": account["ids"]["Waiting Works"], "kind": "email", "to": "hi@waiting-works.test",
        "subject": "Boxes", "status": "queued", "body": "Hello Waiting Works",
    }]).values()
    with tab_of(browser, "scheduled-send") as page:
        sign_in(page, stack, account["email"])
        go(page, stack, "Outreach")
        drafts_tab(page)
        wait_text(page, "Queued (1)")
        page.locator("[role=gridcell]").filter(has_text="no sending days are chosen").first.wait_for(state="attached")

        extra(stack, account, rules={"send_weekdays": [0, 1, 2, 3, 4, 5, 6]})  # the rules allow it now
        deadline = time.monotonic() + 240  # the workers tick at least once a minute; a bound, not a measurement
        while sql(stack, "SELECT status FROM message WHERE id = :m", m=message_id)[0][0] == "queued":
            assert time.monotonic() < deadline, "the scheduled sender never sent the due message"
            time.sleep(2)
        page.reload()
        drafts_tab(page)
        wait_text(page, "Queued (0)")
    assert sql(stack, "SELECT status FROM message WHERE id = :m", m=message_id) == [("sent",)]
    sent = [c for c in stack.sendgrid.calls_to("sendgrid")
            if c["json"]["personalizations"][0]["to"][0]["email"] == "hi@waiting-works.test"]
    assert len(sent) == 1
