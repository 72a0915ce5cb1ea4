"""The reply's own words: LeadScout hands mail-parser-reply patterns built once (the header pattern with
a guard in front) instead of letting it build them for every mail. Held to the library's own answers on
its own test mails and on generated ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mailparser_reply import EmailReplyParser

from core.replies.parse import _PATTERNS, REPLY_LANGUAGES, ReplyText, new_text_of

MAILS = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "mail" / "mail_parser_reply").glob("*.txt"))


def library_replies(text: str) -> list[tuple[str, str, str, list[str]]]:
    """What the library says on its own, building its patterns itself."""
    replies = EmailReplyParser(languages=REPLY_LANGUAGES).read(text=text).replies
    return [(r.content, r.headers, r.signatures, r.disclaimers) for r in replies]


def our_replies(text: str) -> list[tuple[str, str, str, list[str]]]:
    replies = ReplyText(text=text, languages=list(EmailReplyParser(languages=REPLY_LANGUAGES).languages), **_PATTERNS)
    return [(r.content, r.headers, r.signatures, r.disclaimers) for r in replies.read().replies]


def library_new_text(text: str) -> str:
    if not text.strip():
        return ""
    replies = EmailReplyParser(languages=REPLY_LANGUAGES).read(text=text).replies
    return ((replies[0].body if replies else text) or text).strip()


def test_the_library_test_mails_are_here():
    assert len(MAILS) == 47


@pytest.mark.parametrize("path", MAILS, ids=lambda path: path.name)
def test_the_library_own_test_mails_split_the_same(path):
    text = path.read_text(encoding="utf-8")
    assert our_replies(text) == library_replies(text)
    assert new_text_of(text) == library_new_text(text)


LINES = st.sampled_from(
    [
        "Sounds good, let's talk on Tuesday.",
        "On Mon, Sam Sender <sam@sender.example> wrote:",
        "On Mon, 1 Dec 2025 at 10:00, Sam",
        "wrote:",
        "> On Tue, Ada wrote:",
        "Am 01.12.2025 um 10:00 schrieb Sam Sender:",
        "Le lun. 1 déc. 2025 à 10:00, Sam a écrit :",
        "El lun, 1 dic 2025, Sam escribió:",
        "Op ma 1 dec. 2025 om 10:00 schreef Sam:",
        "Il giorno lun 1 dic 2025, Sam ha scritto:",
        "From: Sam Sender",
        "*From:* Sam",
        "Sent: Monday",
        "To: Ada",
        "Subject: Hello",
        "Von: Sam",
        "Gesendet: Montag",
        "Betreff: Hallo",
        "De : Sam",
        "Envoyé : lundi",
        "-----Original Message-----",
        "________________________________",
        "> quoted line",
        ">> deeper quote",
        "--",
        "Best regards,",
        "Mit freundlichen Grüßen",
        "Sent from my iPhone",
        "This e-mail may contain confidential information.",
        "",
        "   ",
        "Onwrote:",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(LINES, st.text(max_size=30)), max_size=14), st.sampled_from(["\n", "\r\n", "\n\n"]))
def test_generated_mails_split_the_same(lines, newline):
    text = newline.join(lines)
    assert our_replies(text) == library_replies(text)
    assert new_text_of(text) == library_new_text(text)
