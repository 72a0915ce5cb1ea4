"""Domain values for identity: a signed-in session and a row of the team table."""

from __future__ import annotations

from dataclasses import dataclass


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
