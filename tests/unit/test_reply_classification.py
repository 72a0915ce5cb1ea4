"""Classifying incoming mail: real bounces from many mail servers, RFC 3834 auto-replies, and answers."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.replies.classify import _FAILURE_TEXT, _failure_text, classify, classify_text
from core.replies.parse import message_from_bytes, new_text_of, parse_mail

BOUNCES = Path(__file__).parents[1] / "fixtures" / "mail" / "flufl_bounce"
EXPECTED = json.loads((BOUNCES / "expected.json").read_text())


def read(raw: bytes):
    message = message_from_bytes(raw)
    return classify(message, parse_mail(message, source="test", fallback_key="k"))


@pytest.mark.parametrize("name", sorted(name for name, row in EXPECTED.items() if row["addresses"]))
def test_every_real_bounce_is_a_bounce_naming_a_recipient_its_authors_named(name):
    expected = EXPECTED[name]
    verdict = read((BOUNCES / name).read_bytes())
    assert verdict.label == "bounce", (name, verdict)
    assert verdict.bounce_recipient in {a.lower() for a in expected["addresses"]}
    # a temporary failure never suppresses an address
    assert not (expected["temporary"] and verdict.hard_bounce)


def test_the_real_corpus_as_a_whole():
    """Every sample of the corpus, not only those with a table row: how many read as bounces."""
    names = sorted(path.name for path in BOUNCES.glob("*.txt"))
    labels = {name: read((BOUNCES / name).read_bytes()).label for name in names}
    bounces = [name for name, label in labels.items() if label == "bounce"]
    assert len(names) == 117
    # qmail_08 is an auto-reply and groupwise_03 a person's answer (the corpus's own negative samples)
    assert labels["qmail_08.txt"] == "auto_reply"
    assert labels["groupwise_03.txt"] == "other"
    assert len(bounces) >= 114


def test_a_dsn_gives_the_status_code_and_hard_only_for_permanent_failures():
    hard = read((BOUNCES / "dsn_11.txt").read_bytes())
    soft = read((BOUNCES / "dsn_05.txt").read_bytes())
    assert (hard.bounce_status, hard.hard_bounce) == ("5.1.1", True)
    assert soft.bounce_status.startswith("4.") and not soft.hard_bounce


def mail(subject: str, body: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Ada <ada@customer.example>"
    message["To"] = "sam@sender.example.test"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()


@pytest.mark.parametrize(
    ("headers", "subject", "body"),
    [
        ({"Auto_Submitted": "auto-replied"}, "Re: Your note", "I will read it later."),
        ({"X_Autoreply": "yes"}, "Re: Hello", "Thanks for your mail."),
        ({"X_Auto_Response_Suppress": "All"}, "Automatic reply: Hello", "I am out of the office until Monday."),
        ({}, "Abwesenheitsnotiz: Ihre Anfrage", "Ich bin derzeit nicht im Büro."),
        ({}, "Réponse automatique : Bonjour", "Je suis absent jusqu'au 12."),
        ({}, "Re: Hello", "I am currently out of the office with limited access to email."),
    ],
)
def test_auto_replies_by_header_subject_or_phrase(headers, subject, body):
    assert read(mail(subject, body, **headers)).label == "auto_reply"


def test_auto_submitted_no_is_a_person():
    assert read(mail("Re: Hello", "Sounds good, let's talk on Tuesday.", Auto_Submitted="no")).label == "interested"


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Please remove me from your list.", "unsubscribe"),
        ("Bitte tragen Sie mich aus, abmelden bitte.", "unsubscribe"),
        ("Thanks, but we're not interested.", "not_interested"),
        ("We already use a roaster for that, no thanks.", "not_interested"),
        ("Not right now — maybe reach out next quarter.", "not_now"),
        ("Sounds good! Can we book a call on Thursday?", "interested"),
        ("What does pricing look like for 3 shops?", "interested"),
        ("Who gave you my address?", "other"),
    ],
)
def test_a_persons_answer_by_its_own_words(text, label):
    assert classify_text(text).label == label


def test_our_own_subject_does_not_decide_the_class():
    """'Re: pricing for your shop' repeats our words; the answer itself says nothing clear."""
    assert classify_text("Who is this?", subject="Re: Quick question about pricing").label == "other"


def test_quoted_history_and_signature_are_stripped():
    text = (
        "Thanks, sounds good. Let's talk Tuesday.\n\nBest,\nAnna\n\n"
        "On Mon, 1 Dec 2026 at 10:00, Sam <sam@sender.example.test> wrote:\n> Hi Anna\n> would you like a demo?\n"
    )
    assert new_text_of(text) == "Thanks, sounds good. Let's talk Tuesday."
    # "demo" is only in the quote: the class comes from the new words
    assert classify_text(new_text_of("Who are you?\n\nOn Mon, Sam wrote:\n> book a demo?")).label == "other"


FAILURE_PIECES = st.sampled_from(
    [
        "could not be delivered",
        "UNDELIVERABLE",
        "Delivery has failed",
        "permanently fatal",
        "Permanent error",
        "user unknown",
        "No such mailbox",
        "mailbox full",
        "Mailbox not found",
        "returned mail",
        "unable to deliver",
        "Failed recipient",
        "delivery status notification",
        "5.1.1",
        "550",
        "1550",
        "5.1",
        "deliver",
        "no such",
        "ſuch",
        "\u0130",
        "\u0131",
        "\u212a",
        "fa\u0131led rec\u0130p\u0131ent",
        "de\u0131\u0307ver",
        " ",
        "\n",
        "x",
        "Thanks, let's talk.",
    ]
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.one_of(FAILURE_PIECES, st.text(max_size=8)), max_size=8))
def test_the_failure_words_never_hide_a_failure_the_pattern_finds(pieces):
    """The substring check in front of the failure pattern only says no where the pattern says no."""
    text = "".join(pieces)
    assert _failure_text(text) == bool(_FAILURE_TEXT.search(text))


def test_the_failure_words_see_through_case_folding():
    for text in ("UNDELIVERABLE", "no \u017fuch user", "Fa\u0131led Rec\u0130pient", "Mail Delivery Has Failed"):
        assert _FAILURE_TEXT.search(text), text
        assert _failure_text(text), text
    assert not _failure_text("Thanks, but we are not interested.")
