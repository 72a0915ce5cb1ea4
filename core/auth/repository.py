"""Storage of identity: sessions and memberships, read and written inside the caller's transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.auth import tokens
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import AuthSession, Membership, Workspace, utcnow


def open_session(uow: UnitOfWork, *, user_id: int, provider: str = "local") -> tuple[str, AuthSession]:
    """Create a session row for ``user_id`` inside the caller's transaction; return token and row."""
    token, digest = tokens.new_token()
    expires = utcnow() + timedelta(hours=get_settings().session_ttl_hours)
    row = AuthSession(user_id=user_id, token_hash=digest, expires_at=expires, provider=provider)
    uow.session.add(row)
    return token, row


def workspaces_of(uow: UnitOfWork, user_id: int) -> tuple[tuple[int, str, str], ...]:
    """(workspace id, name, role) of every workspace the user belongs to, by name."""
    rows = uow.session.execute(
        select(Workspace.id, Workspace.name, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.name, Workspace.id)
    ).all()
    return tuple((row[0], row[1], row[2]) for row in rows)


def live_session(uow: UnitOfWork, token: str) -> AuthSession | None:
    """The unrevoked, unexpired session row behind ``token``, or None."""
    digest = tokens.token_hash(token)
    if digest is None:
        return None
    row = uow.session.scalar(select(AuthSession).where(AuthSession.token_hash == digest))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row
