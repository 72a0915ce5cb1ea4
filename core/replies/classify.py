"""What an incoming mail is: a bounce (RFC 3464 DSN, or a non-standard one), an auto-reply (RFC 3834 and
the common headers and phrases), an unsubscribe request, or a person's answer — interested, not now,
not interested — read from the reply's own words. Rules first; the LLM may refine a person's answer."""

from __future__ import annotations

import logging
import re
from email.message import Message

from flufl.bounce import all_failures

from core.replies.models import Incoming, Verdict

logging.getLogger("flufl.bounce").setLevel(logging.WARNING)  # it logs every detector it runs at INFO

_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?(reply|response|antwort)|autoreply|out of (the )?office|"
    r"abwesenheit|abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|absence|"
    r"respuesta autom[áa]tica|fuera de la oficina|risposta automatica|afwezig|ooo\b)",
    re.IGNORECASE,
)
_AUTO_PHRASES = re.compile(
    r"\b(i am|i'm|i will be) (currently )?(out of (the )?office|away|on (annual |parental )?leave|on vacation|"
    r"on holiday)|\bwith limited access to (my )?e-?mail|\bbin (ich )?(bis|vom) .{0,40}(nicht im büro|abwesend)|"
    r"\bich bin (derzeit|zurzeit) nicht im büro|\bje suis absent|\bthis is an automated (reply|response)",
    re.IGNORECASE,
)
_UNSUBSCRIBE = re.compile(
    r"\b(unsubscribe|remove me|take me off|opt(ed)? out|stop (e-?mailing|contacting|sending)|"
    r"do not (contact|e-?mail)|don'?t (contact|e-?mail) (me|us)|no more e-?mails?|"
    r"(abmelden|austragen|keine weiteren (e-?mails|nachrichten))|d[ée]sabonner|d[ée]sinscri|"
    r"darme de baja|dar de baja)\b",
    re.IGNORECASE,
)
_NOT_INTERESTED = re.compile(
    r"\b(not interested|no interest|no,? thanks?( you)?|we(' ?re| are) (all set|good|covered)|not a (good )?fit|"
    r"we already (have|use|work with)|please don'?t follow up|kein interesse|pas int[ée]ress[ée]|no nos interesa)\b",
    re.IGNORECASE,
)
_NOT_NOW = re.compile(
    r"\b(not (right )?now|not at (the|this) (moment|time)|maybe later|(reach|check) (back|out) (in|next|later)|"
    r"circle back|next (quarter|year|month)|in a few (weeks|months)|after (the )?(holidays|summer)|"
    r"no budget (right now|this year)|sp[äa]ter|derzeit nicht|plus tard)\b",
    re.IGNORECASE,
)
_INTERESTED = re.compile(
    r"\b(interested|sounds (good|great|interesting)|let'?s (talk|chat|meet|connect|schedule|set up)|"
    r"(book|schedule|set up) (a |an )?(call|meeting|demo|time)|tell me more|send (me )?(more )?(info|details)|"
    r"pricing|how much|when are you (free|available)|happy to (chat|talk)|call me|"
    r"gerne|interessiert|int[ée]ress[ée]|me interesa)\b",
    re.IGNORECASE,
)
_FAILURE_SUBJECT = re.compile(
    r"(undeliver|delivery (status notification|failure|failed|has failed)|mail delivery failed|"
    r"could not be delivered|returned mail|mail error|failure notice|unzustellbar|non remis|"
    r"nicht zugestellt|delivery problem)",
    re.IGNORECASE,
)
_FAILURE_TEXT = re.compile(
    r"(could not be delivered|undeliverable|delivery (has )?failed|permanent(ly)? (error|fatal)|"
    r"user unknown|no such (user|mailbox)|mailbox (unavailable|not found|full)|returned mail|"
    r"unable to deliver|failed recipient|delivery status notification|\b5\.\d\.\d\b|\b550\b)",
    re.IGNORECASE,
)
# Words one of which every match of _FAILURE_TEXT contains, looked for in the case-folded text first: a
# person's reply has none of them, and a few substring searches cost far less than the pattern's dozen
# case-blind branches tried at every position. Case folding maps every letter the pattern matches
# case-blind to its ASCII form, except the Turkish dotted and dotless I (folded here by hand).
_FAILURE_WORDS = (
    "deliver",
    "permanent",
    "user unknown",
    "no such ",
    "mailbox ",
    "returned mail",
    "failed recipient",
    "5.",
    "550",
)


def _failure_text(text: str) -> bool:
    folded = text.casefold().replace("\u0307", "").replace("\u0131", "i")
    return any(word in folded for word in _FAILURE_WORDS) and bool(_FAILURE_TEXT.search(text))


_SYSTEM_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon", "ndr", "bounce", "bounces", "")
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|antw|r[ée]f|fwd?|wg|tr)\s*(\[\d+\])?\s*:", re.IGNORECASE)
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def _dsn_recipients(message: Message) -> list[tuple[str, str, str]]:
    """(recipient, action, status) for every recipient block of an RFC 3464 delivery-status part."""
    found: list[tuple[str, str, str]] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1:]:  # the first block describes the reporting MTA
            if not isinstance(block, Message):
                continue
            # the address as we sent to it (Original-Recipient) beats where it was forwarded to (Final-Recipient)
            recipient = str(block.get("original-recipient") or block.get("final-recipient") or "")
            address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
            status = _STATUS.search(str(block.get("status") or ""))
            found.append((address, str(block.get("action") or "").strip().lower(), status.group(1) if status else ""))
    return found


def _may_be_bounce(message: Message, incoming: Incoming) -> bool:
    """Cheap signs of a delivery failure; a person's reply has none of them."""
    sender = incoming.from_address.split("@")[0]
    return (
        sender in _SYSTEM_SENDERS
        or bool(_FAILURE_SUBJECT.search(incoming.subject))
        or "report" in incoming.headers.get("content-type", "").lower()
        or "x-failed-recipients" in incoming.headers
        or incoming.headers.get("return-path", "").strip() == "<>"
        or bool(incoming.original_ids)
        or _failure_text(incoming.text[:3000])
    )


def _status_code(text: str) -> str:
    code = _STATUS.search(text)
    return code.group(1) if code else ""


def _bounce(message: Message, incoming: Incoming) -> Verdict | None:
    content_type = incoming.headers.get("content-type", "").lower()
    if "multipart/report" in content_type and "delivery-status" in content_type:
        failed = [r for r in _dsn_recipients(message) if r[1] in ("failed", "delayed")]
        if failed:
            address, action, status = failed[0]
            hard = action == "failed" and status.startswith("5")
            kind = "hard bounce" if hard else ("delivery delayed" if action == "delayed" else "soft bounce")
            return Verdict(
                label="bounce",
                reason=f"{kind}: delivery status report for {address or 'a recipient'} ({status or action})",
                bounce_recipient=address,
                bounce_status=status,
                hard_bounce=hard,
            )
    temporary: frozenset[bytes] = frozenset()
    permanent: frozenset[bytes] = frozenset()
    if _may_be_bounce(message, incoming):  # flufl.bounce runs ~20 detectors: only on candidates
        try:
            temporary, permanent = all_failures(message)
        except Exception:  # noqa: BLE001 - a detector tripping on odd mail must not stop the reading
            pass
    if permanent or temporary:
        code_text = _status_code(incoming.text)
        first = sorted(permanent or temporary)[0]
        recipient = (first.decode("utf-8", "replace") if isinstance(first, bytes) else str(first)).lower()
        hard = bool(permanent) and not code_text.startswith("4")
        return Verdict(
            label="bounce",
            reason=f"{'hard' if hard else 'soft'} bounce reported by the receiving server for {recipient}",
            bounce_recipient=recipient,
            bounce_status=code_text,
            hard_bounce=hard,
        )
    sender = incoming.from_address.split("@")[0]
    if _FAILURE_SUBJECT.search(incoming.subject) and (sender in _SYSTEM_SENDERS or incoming.original_ids):
        return Verdict(
            label="bounce",
            reason=f"a delivery failure notice ('{incoming.subject[:60]}') naming no recipient",
            bounce_status=_status_code(incoming.text),
            hard_bounce=False,  # without a recipient, nobody is suppressed
        )
    return None


def _auto_reply(incoming: Incoming) -> str:
    headers = incoming.headers
    auto = headers.get("auto-submitted", "").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            return f"{name} header"
    if "oof" in headers.get("x-auto-response-suppress", "").lower() or headers.get(
        "x-auto-response-suppress", ""
    ).lower() in ("all",):
        return "X-Auto-Response-Suppress header (Exchange auto-reply)"
    if headers.get("precedence", "").lower() in ("auto_reply", "bulk", "junk"):
        return f"Precedence: {headers['precedence'].lower()}"
    if _AUTO_SUBJECT.search(incoming.subject):
        return "subject reads as an automatic reply"
    if _AUTO_PHRASES.search(incoming.new_text[:2000]):
        return "text reads as an out-of-office note"
    return ""


def _quote(match: re.Match[str]) -> str:
    return f"'{match.group(0)[:60]}'"


def classify(message: Message, incoming: Incoming) -> Verdict:
    """The class of one mail by rules: bounce, auto-reply, unsubscribe request, or a person's answer."""
    bounce = _bounce(message, incoming)
    if bounce is not None:
        return bounce
    auto = _auto_reply(incoming)
    if auto:
        return Verdict(label="auto_reply", reason=auto)
    return classify_text(incoming.new_text or incoming.text, subject=incoming.subject)


def classify_text(text: str, *, subject: str = "") -> Verdict:
    """A person's answer (mail or text) by its own words: the first rule that matches, strongest first."""
    own_subject = subject and not _REPLY_PREFIX.match(subject)  # "Re: …" repeats our own words, not theirs
    words = (f"{subject}\n{text}" if own_subject else text)[:5000]
    for label, pattern in (
        ("unsubscribe", _UNSUBSCRIBE),
        ("not_interested", _NOT_INTERESTED),
        ("not_now", _NOT_NOW),
        ("interested", _INTERESTED),
    ):
        found = pattern.search(words)
        if found:
            return Verdict(label=label, reason=f"said {_quote(found)}")
    return Verdict(label="other", reason="a reply with no clear answer: read it and set its class")
