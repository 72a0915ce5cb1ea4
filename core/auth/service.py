"""Local accounts: sign-up, sign-in with throttling, revocable sessions, team and roles."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from sqlalchemy import func, select, update

from core.actor import ROLE_RANK, Actor
from core.auth import tokens
from core.auth.models import MemberView, SignedIn
from core.auth.passwords import MIN_PASSWORD_LENGTH, hash_password, needs_rehash, verify_password
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import AuditEvent, AuthSession, Membership, SignInAttempt, User, Workspace, utcnow
from core.errors import InvalidInput, NotFound, PermissionDenied, QuotaExceeded

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
HANDOFF_SECONDS = 60


def normalise_email(email: str) -> str:
    """Lower-cased, trimmed email; raises ``InvalidInput`` when it is not an address."""
    cleaned = (email or "").strip().lower()
    if len(cleaned) > 320 or not _EMAIL.match(cleaned):
        raise InvalidInput(f"'{email.strip()[:80]}' is not an email address. Check for typos.")
    return cleaned


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"Choose a password of at least {MIN_PASSWORD_LENGTH} characters.")


def sign_up(
    *, email: str, password: str, workspace_name: str = "", display_name: str = "", uow: UnitOfWork | None = None
) -> int:
    """Create an account; the first user (or anyone, with open sign-up) owns a new workspace."""
    address = normalise_email(email)
    _check_password(password)
    uow = uow or UnitOfWork()
    with uow:
        session = uow.session
        user = session.scalar(select(User).where(User.email == address))
        if user is not None and user.password_hash is not None:
            raise InvalidInput("An account with this email already exists. Sign in instead.")
        if user is not None:  # invited by an admin: claim the account
            user.password_hash = hash_password(password)
            user.display_name = display_name or user.display_name
            session.add(AuditEvent(user_id=user.id, action="user.claimed_invite"))
            uow.commit()
            return user.id
        first_user = session.scalar(select(func.count()).select_from(User)) == 0
        if not first_user and not get_settings().open_signup:
            raise PermissionDenied("Sign-up is by invitation here. Ask an admin to add your email.")
        user = User(email=address, display_name=display_name.strip(), password_hash=hash_password(password))
        workspace = Workspace(name=(workspace_name or "").strip()[:120] or f"{address.split('@')[0]}'s team")
        session.add_all([user, workspace])
        uow.flush()
        session.add(Membership(workspace_id=workspace.id, user_id=user.id, role="owner"))
        session.add(AuditEvent(workspace_id=workspace.id, user_id=user.id, action="user.signed_up"))
        uow.commit()
        return user.id


def sign_in(*, email: str, password: str, uow: UnitOfWork | None = None) -> SignedIn:
    """Check the password (throttled per email) and open a new session."""
    address = normalise_email(email)
    settings = get_settings()
    uow = uow or UnitOfWork()
    with uow:
        session = uow.session
        window_start = utcnow() - timedelta(minutes=settings.signin_lockout_minutes)
        last_success = session.scalar(
            select(func.max(SignInAttempt.created_at)).where(
                SignInAttempt.email == address, SignInAttempt.succeeded.is_(True)
            )
        )
        since = max(window_start, last_success) if last_success else window_start
        recent_failures = session.scalar(
            select(func.count()).where(
                SignInAttempt.email == address,
                SignInAttempt.succeeded.is_(False),
                SignInAttempt.created_at > since,
            )
        )
        if (recent_failures or 0) >= settings.signin_max_failures:
            raise QuotaExceeded(
                f"Too many failed sign-ins for {address}. Wait {settings.signin_lockout_minutes} "
                "minutes and try again, or reset your password."
            )
        user = session.scalar(select(User).where(User.email == address))
        ok = verify_password(user.password_hash if user else None, password)
        if not ok or user is None or not user.is_active:
            session.add(SignInAttempt(email=address, succeeded=False))
            uow.commit()
            raise PermissionDenied("Wrong email or password.")
        session.add(SignInAttempt(email=address, succeeded=True))
        if user.password_hash and needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_sign_in_at = utcnow()
        workspaces = _workspaces_of(uow, user.id)
        if not workspaces:
            uow.commit()
            raise PermissionDenied("Your account is not in any workspace. Ask an admin to add you.")
        token, _ = open_session(uow, user_id=user.id)
        uow.commit()
        return SignedIn(user_id=user.id, email=user.email, token=token, workspaces=workspaces)


def open_session(uow: UnitOfWork, *, user_id: int, provider: str = "local") -> tuple[str, AuthSession]:
    """Create a session row for ``user_id`` inside the caller's transaction; return token and row."""
    token, digest = tokens.new_token()
    expires = utcnow() + timedelta(hours=get_settings().session_ttl_hours)
    row = AuthSession(user_id=user_id, token_hash=digest, expires_at=expires, provider=provider)
    uow.session.add(row)
    return token, row


def _workspaces_of(uow: UnitOfWork, user_id: int) -> tuple[tuple[int, str, str], ...]:
    rows = uow.session.execute(
        select(Workspace.id, Workspace.name, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.name, Workspace.id)
    ).all()
    return tuple((row[0], row[1], row[2]) for row in rows)


def _live_session(uow: UnitOfWork, token: str) -> AuthSession | None:
    digest = tokens.token_hash(token)
    if digest is None:
        return None
    row = uow.session.scalar(select(AuthSession).where(AuthSession.token_hash == digest))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    return row


def restore_session(*, token: str, uow: UnitOfWork | None = None) -> SignedIn | None:
    """The signed-in user for a token, or None when it is forged, expired, revoked or orphaned."""
    if not token:
        return None
    uow = uow or UnitOfWork()
    with uow:
        row = _live_session(uow, token)
        if row is None:
            return None
        user = uow.session.get(User, row.user_id)
        if user is None or not user.is_active:
            return None
        workspaces = _workspaces_of(uow, user.id)
        if not workspaces:
            return None
        if row.provider == "supabase":
            from core.auth import supabase_service  # imported here: it builds on this module

            valid = supabase_service.keep_session_valid(uow, row=row, user=user)
            uow.commit()  # keeps refreshed tokens (or the revocation) and releases the row lock
            if not valid:
                return None
        now = utcnow()
        if row.last_seen_at is None or now - row.last_seen_at > timedelta(minutes=5):
            row.last_seen_at = now
            uow.commit()
        return SignedIn(user_id=user.id, email=user.email, token=token, workspaces=workspaces)


def sign_out(*, token: str, uow: UnitOfWork | None = None) -> None:
    """Revoke the session behind ``token`` (a no-op for unknown tokens)."""
    digest = tokens.token_hash(token or "")
    if digest is None:
        return
    uow = uow or UnitOfWork()
    with uow:
        row = uow.session.scalar(
            select(AuthSession).where(AuthSession.token_hash == digest, AuthSession.revoked_at.is_(None))
        )
        if row is None:
            return
        row.revoked_at = utcnow()
        provider, sealed_access_token = row.provider, row.provider_access_token
        uow.commit()
    if provider == "supabase":
        from core.auth import supabase_service  # imported here: it builds on this module

        supabase_service.end_remote_session(sealed_access_token)


def create_handoff(*, token: str, uow: UnitOfWork | None = None) -> str:
    """A one-time code (valid 60 s) the browser trades for an HttpOnly session cookie."""
    uow = uow or UnitOfWork()
    with uow:
        row = _live_session(uow, token)
        if row is None:
            raise PermissionDenied("Your session has ended. Sign in again.")
        code = secrets.token_urlsafe(32)
        row.handoff_hash = tokens.hash_raw(code)
        row.handoff_expires_at = utcnow() + timedelta(seconds=HANDOFF_SECONDS)
        uow.commit()
        return code


def redeem_handoff(*, code: str, uow: UnitOfWork | None = None) -> tuple[str, int] | None:
    """Trade a handoff code once for a fresh token of the same user; None when used or stale."""
    if not code or len(code) > 100:
        return None
    uow = uow or UnitOfWork()
    with uow:
        row = uow.session.scalar(select(AuthSession).where(AuthSession.handoff_hash == tokens.hash_raw(code)))
        if row is None or row.revoked_at is not None or row.handoff_expires_at is None:
            return None
        if row.handoff_expires_at <= utcnow():
            return None
        row.handoff_hash = None
        row.handoff_expires_at = None
        # The token shown to the page is replaced: only the HttpOnly cookie's token stays valid.
        token, digest = tokens.new_token()
        row.token_hash = digest
        ttl = int((row.expires_at - utcnow()).total_seconds())
        uow.commit()
        return token, max(ttl, 0)


def actor_for(*, user_id: int, workspace_id: int, uow: UnitOfWork | None = None) -> Actor:
    """The ``Actor`` for a user in a workspace; ``PermissionDenied`` when not a member."""
    uow = uow or UnitOfWork()
    with uow:
        row = uow.session.execute(
            select(User.email, Workspace.name, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .join(Workspace, Workspace.id == Membership.workspace_id)
            .where(User.id == user_id, Workspace.id == workspace_id, User.is_active.is_(True))
        ).first()
    if row is None:
        raise PermissionDenied("You are not a member of this workspace (any more). Sign in again.")
    return Actor(user_id=user_id, email=row[0], workspace_id=workspace_id, workspace_name=row[1], role=row[2])


def list_members(*, actor: Actor, uow: UnitOfWork | None = None) -> list[MemberView]:
    """Everyone in the actor's workspace, owners first."""
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
    """Add a user (invited if new) to the actor's workspace; admins and owners only."""
    actor.require("admin")
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
        session.add(
            AuditEvent(
                workspace_id=actor.workspace_id,
                user_id=actor.user_id,
                action="member.added",
                target_type="user",
                target_id=user.id,
                detail={"role": role},
            )
        )
        uow.commit()
        return user.id


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
    actor.require("admin")
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
        uow.session.add(
            AuditEvent(
                workspace_id=actor.workspace_id,
                user_id=actor.user_id,
                action="member.role_changed",
                target_type="user",
                target_id=user_id,
                detail={"from": before, "to": role},
            )
        )
        uow.commit()


def remove_member(*, actor: Actor, user_id: int, uow: UnitOfWork | None = None) -> None:
    """Remove someone from the workspace; their open sessions lose access at once."""
    actor.require("admin")
    uow = uow or UnitOfWork()
    with uow:
        membership = _membership_or_raise(uow, actor, user_id)
        if membership.role == "owner":
            actor.require("owner")
            if _owner_count(uow, actor.workspace_id) == 1:
                raise InvalidInput("You cannot remove the last owner of a workspace.")
        uow.session.delete(membership)
        uow.flush()
        if not _workspaces_of(uow, user_id):
            uow.session.execute(
                update(AuthSession)
                .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        uow.session.add(
            AuditEvent(
                workspace_id=actor.workspace_id,
                user_id=actor.user_id,
                action="member.removed",
                target_type="user",
                target_id=user_id,
            )
        )
        uow.commit()
