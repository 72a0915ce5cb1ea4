"""The team of a workspace: members, invitations and roles (owners and admins manage it)."""

from __future__ import annotations

from sqlalchemy import func, select, update

from core import background
from core.actor import ROLE_RANK, Actor
from core.audit import audit
from core.auth import invitations
from core.auth.invitation_mail import emails_invitations
from core.auth.invitations import InvitationView
from core.auth.models import MemberView, normalise_email
from core.auth.repository import workspaces_of
from core.db import UnitOfWork
from core.db.models import AuthSession, Membership, User, utcnow
from core.errors import InvalidInput, NotFound


def list_members(*, actor: Actor, uow: UnitOfWork | None = None) -> list[MemberView]:
    """Everyone in the actor's workspace, owners first."""
    actor.require_permission("team.view")
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.execute(
            select(User, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.workspace_id == actor.workspace_id)
        ).all()
        members = [
            MemberView(
                user_id=u.id,
                email=u.email,
                display_name=u.display_name,
                role=role,
                has_password=u.password_hash is not None,
            )
            for u, role in rows
        ]
    return sorted(members, key=lambda m: (-ROLE_RANK[m.role], m.email))


def _check_role_name(role: str) -> None:
    if role not in ROLE_RANK:
        raise InvalidInput(f"Unknown role '{role}'. Choose owner, admin or member.")


def add_member(*, actor: Actor, email: str, role: str = "member", uow: UnitOfWork | None = None) -> int:
    """Add a user to the actor's workspace (a new one is invited: see ``pending_invitations``); admins and owners."""
    actor.require_permission("team.manage")
    _check_role_name(role)
    if role == "owner":
        actor.require("owner")
    address = normalise_email(email)
    uow = uow or UnitOfWork()
    with uow:
        session = uow.session
        user = session.scalar(select(User).where(User.email == address))
        if user is None:
            user = User(email=address, password_hash=None)
            session.add(user)
            uow.flush()
        exists = session.scalar(
            select(Membership).where(Membership.workspace_id == actor.workspace_id, Membership.user_id == user.id)
        )
        if exists is not None:
            raise InvalidInput(f"{address} is already a member of {actor.workspace_name}.")
        session.add(Membership(workspace_id=actor.workspace_id, user_id=user.id, role=role))
        invitation = None
        if user.password_hash is None and user.external_id is None:  # no account yet: joining needs a token
            invitation = invitations.create(
                uow, workspace_id=actor.workspace_id, user_id=user.id, email=address, invited_by=actor.user_id
            )
        audit(uow, "member.added", actor=actor, target_type="user", target_id=user.id, detail={"role": role})
        uow.commit()
        user_id, invitation_id = user.id, invitation.id if invitation is not None else None
    if invitation_id is not None and emails_invitations():
        background.submit(kind=background.kinds.EMAIL_INVITATION, args={"invitation_id": invitation_id}, actor=actor)
    return user_id


def invitations_are_emailed() -> bool:
    """Whether ``add_member`` emails a new member their link (an email provider is configured), or the inviter
    passes it on."""
    return emails_invitations()


def pending_invitations(*, actor: Actor, uow: UnitOfWork | None = None) -> list[InvitationView]:
    """The workspace's open invitations with their links (for the inviter to send); admins and owners."""
    actor.require_permission("team.manage")
    uow = uow or UnitOfWork()
    with uow:
        roles = dict(
            uow.session.execute(
                select(Membership.user_id, Membership.role).where(Membership.workspace_id == actor.workspace_id)
            ).all()
        )
        return [
            InvitationView(
                invitation_id=row.id,
                email=row.email,
                role=roles.get(row.user_id, ""),
                expires_at=row.expires_at,
                link=invitations.link_of(row),
            )
            for row in invitations.open_invitations(uow, workspace_id=actor.workspace_id)
        ]


def _membership_or_raise(uow: UnitOfWork, actor: Actor, user_id: int) -> Membership:
    membership = uow.session.scalar(
        select(Membership).where(Membership.workspace_id == actor.workspace_id, Membership.user_id == user_id)
    )
    if membership is None:
        raise NotFound("That person is not a member of this workspace.")
    return membership


def _owner_count(uow: UnitOfWork, workspace_id: int) -> int:
    return (
        uow.session.scalar(
            select(func.count()).where(Membership.workspace_id == workspace_id, Membership.role == "owner")
        )
        or 0
    )


def set_role(*, actor: Actor, user_id: int, role: str, uow: UnitOfWork | None = None) -> None:
    """Change a member's role; only owners touch owners, and the last owner stays an owner."""
    actor.require_permission("team.manage")
    _check_role_name(role)
    uow = uow or UnitOfWork()
    with uow:
        membership = _membership_or_raise(uow, actor, user_id)
        if "owner" in (role, membership.role):
            actor.require("owner")
        if membership.role == "owner" and role != "owner" and _owner_count(uow, actor.workspace_id) == 1:
            raise InvalidInput("A workspace needs at least one owner. Make someone else owner first.")
        before = membership.role
        membership.role = role
        audit(
            uow,
            "member.role_changed",
            actor=actor,
            target_type="user",
            target_id=user_id,
            detail={"from": before, "to": role},
        )
        uow.commit()


def remove_member(*, actor: Actor, user_id: int, uow: UnitOfWork | None = None) -> None:
    """Remove someone from the workspace; their open sessions lose access at once."""
    actor.require_permission("team.manage")
    uow = uow or UnitOfWork()
    with uow:
        membership = _membership_or_raise(uow, actor, user_id)
        if membership.role == "owner":
            actor.require("owner")
            if _owner_count(uow, actor.workspace_id) == 1:
                raise InvalidInput("You cannot remove the last owner of a workspace.")
        uow.session.delete(membership)
        invitations.close_for_user(uow, user_id=user_id, workspace_id=actor.workspace_id, now=utcnow())
        uow.flush()
        if not workspaces_of(uow, user_id):
            uow.session.execute(
                update(AuthSession)
                .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        audit(uow, "member.removed", actor=actor, target_type="user", target_id=user_id)
        uow.commit()
