"""Job functions that ship with the foundation: a queue self-test and session housekeeping."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_

from core.db import UnitOfWork
from core.db.models import AuthSession, SignInAttempt, utcnow
from core.jobs import JobContext


def selftest(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Count to ``steps`` with a pause per step; fail on request. Proves workers are alive."""
    steps = int(args.get("steps", 10))
    pause = float(args.get("pause", 0.2))
    fail_with = args.get("fail_with")
    for step in range(steps):
        ctx.progress(step, steps, f"Step {step + 1} of {steps}")
        ctx.sleep(pause)
    if fail_with:
        raise RuntimeError(str(fail_with))
    ctx.progress(steps, steps, "Done")
    return {"steps": steps}


def purge_sessions(ctx: JobContext, args: dict[str, Any]) -> dict[str, Any]:
    """Delete expired or revoked sessions and sign-in attempts older than a day."""
    from datetime import timedelta

    now = utcnow()
    with UnitOfWork() as uow:
        sessions = uow.session.execute(
            delete(AuthSession).where(or_(AuthSession.expires_at < now, AuthSession.revoked_at.is_not(None)))
        )
        attempts = uow.session.execute(delete(SignInAttempt).where(SignInAttempt.created_at < now - timedelta(days=1)))
        uow.commit()
    ctx.progress(1, 1, "Purged")
    return {"sessions": getattr(sessions, "rowcount", 0), "attempts": getattr(attempts, "rowcount", 0)}
