"""Domain values for identity: email and password rules, a signed-in session, a row of the team table."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.auth.passwords import MIN_PASSWORD_LENGTH
from core.errors import InvalidInput

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


def normalise_email(email: str) -> str:
    """Lower-cased, trimmed email; raises ``InvalidInput`` when it is not an address."""
    cleaned = (email or "").strip().lower()
    if len(cleaned) > 320 or not _EMAIL.match(cleaned):
        raise InvalidInput(f"'{email.strip()[:80]}' is not an email address. Check for typos.")
    return cleaned


def check_password_rules(password: str) -> None:
    """Raise ``InvalidInput`` when a new password is too short."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")


@dataclass(frozen=True)
class SignedIn:
    """The result of signing in: the user, the session token to keep, and their workspaces."""

    user_id: int
    email: str
    token: str
    workspaces: tuple[tuple[int, str, str], ...]  # (workspace id, name, role)


@dataclass(frozen=True)
class MemberView:
    """A row of the team table."""

    user_id: int
    email: str
    display_name: str
    role: str
    has_password: bool
