"""Identity housekeeping run in the background: expired sessions and old sign-in attempts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_

from core.auth.invitation_mail import send_invitation_email
from core.background.context import JobContext
from core.db import UnitOfWork
from core.db.models import AuthSession, SignInAttempt, utcnow


def purge_sessions(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Delete expired or revoked sessions and sign-in attempts older than a day."""
    now = utcnow()
    with UnitOfWork() as uow:
        sessions = uow.session.execute(
            delete(AuthSession).where(or_(AuthSession.expires_at < now, AuthSession.revoked_at.is_not(None)))
        )
        attempts = uow.session.execute(delete(SignInAttempt).where(SignInAttempt.created_at < now - timedelta(days=1)))
        uow.commit()
    ctx.progress(1, 1, "Purged")
    return {"sessions": getattr(sessions, "rowcount", 0), "attempts": getattr(attempts, "rowcount", 0)}


def email_invitation_job(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Email an invitation its link through the configured email provider (see ``invitation_mail``)."""
    provider = send_invitation_email(int(args["invitation_id"]))
    ctx.progress(1, 1, f"Emailed through {provider}" if provider else "Nothing to send")
    return {"provider": provider}
