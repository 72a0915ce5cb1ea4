"""Operator actions without a signed-in actor (command line): create users, list jobs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core.actor import Actor
from core.audit import audit
from core.auth.models import check_password_rules, normalise_email
from core.auth.passwords import hash_password
from core.auth.service import actor_for
from core.db import UnitOfWork
from core.db.models import Campaign, Job, Membership, User, Workspace
from core.errors import InvalidInput, NotFound


def create_user(
    *, email: str, password: str, workspace_name: str, role: str = "owner", uow: UnitOfWork | None = None
) -> dict[str, Any]:
    """Create (or update the password of) a user and make them ``role`` of the named workspace."""
    address = normalise_email(email)
    check_password_rules(password)
    name = workspace_name.strip()
    if not name:
        raise InvalidInput("Give a workspace name with --workspace.")
    uow = uow or UnitOfWork()
    with uow:
        session = uow.session
        workspace = session.scalar(select(Workspace).where(Workspace.name == name).order_by(Workspace.id))
        created_workspace = workspace is None
        if workspace is None:
            workspace = Workspace(name=name)
            session.add(workspace)
        user = session.scalar(select(User).where(User.email == address))
        created_user = user is None
        if user is None:
            user = User(email=address)
            session.add(user)
        user.password_hash = hash_password(password)
        uow.flush()
        membership = session.scalar(
            select(Membership).where(Membership.workspace_id == workspace.id, Membership.user_id == user.id)
        )
        if membership is None:
            session.add(Membership(workspace_id=workspace.id, user_id=user.id, role=role))
        else:
            membership.role = role
        audit(uow, "user.created_by_cli", workspace_id=workspace.id, user_id=user.id, detail={"role": role})
        uow.commit()
        return {
            "user_id": user.id,
            "workspace_id": workspace.id,
            "role": role,
            "created_user": created_user,
            "created_workspace": created_workspace,
        }


def workspace_id_by_name(name: str, uow: UnitOfWork | None = None) -> int:
    """The id of the workspace called ``name``; ``NotFound`` when there is none."""
    uow = uow or UnitOfWork()
    with uow:
        workspace_id = uow.session.scalar(select(Workspace.id).where(Workspace.name == name).order_by(Workspace.id))
    if workspace_id is None:
        raise NotFound(f"No workspace is called '{name}'.")
    return workspace_id


def list_jobs_for_cli(*, workspace_name: str | None, status: str | None, limit: int) -> list[dict[str, Any]]:
    """Recent jobs (all workspaces, or one) as plain dicts."""
    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if workspace_name:
        query = query.where(Job.workspace_id == workspace_id_by_name(workspace_name))
    if status:
        query = query.where(Job.status == status)
    with UnitOfWork() as uow:
        return [
            {
                "id": job.id,
                "workspace_id": job.workspace_id,
                "kind": job.kind,
                "queue": job.queue,
                "status": job.status,
                "progress": [job.progress_done, job.progress_total],
                "attempts": job.attempts,
                "error": job.error,
                "created_at": job.created_at,
                "finished_at": job.finished_at,
            }
            for job in uow.session.scalars(query)
        ]


def owner_actor(*, workspace_id: int, uow: UnitOfWork | None = None) -> Actor:
    """The workspace's first owner as an ``Actor``: who the command line acts as."""

    uow = uow or UnitOfWork()
    with uow:
        user_id = uow.session.scalar(
            select(Membership.user_id)
            .where(Membership.workspace_id == workspace_id, Membership.role == "owner")
            .order_by(Membership.id)
        )
    if user_id is None:
        raise NotFound(f"Workspace {workspace_id} does not exist or has no owner.")
    return actor_for(user_id=user_id, workspace_id=workspace_id)


def campaign_workspace(*, campaign_id: int, uow: UnitOfWork | None = None) -> int:
    """The workspace a campaign belongs to; ``NotFound`` when there is no such campaign."""

    uow = uow or UnitOfWork()
    with uow:
        workspace_id = uow.session.scalar(select(Campaign.workspace_id).where(Campaign.id == campaign_id))
    if workspace_id is None:
        raise NotFound(f"There is no campaign {campaign_id}.")
    return workspace_id
