"""The audit log: who did what to which record, written in the caller's transaction."""

from __future__ import annotations

from typing import Any

from core.actor import Actor
from core.db import UnitOfWork
from core.db.models import AuditEvent


def audit(
    uow: UnitOfWork,
    action: str,
    *,
    actor: Actor | None = None,
    workspace_id: int | None = None,
    user_id: int | None = None,
    target_type: str = "",
    target_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit event to the unit of work; the actor, when given, supplies workspace and user."""
    uow.session.add(
        AuditEvent(
            workspace_id=actor.workspace_id if actor else workspace_id,
            user_id=actor.user_id if actor else user_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            detail=detail or {},
        )
    )
