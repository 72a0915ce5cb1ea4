"""Accounts and sessions: sign-up, sign-in with throttling, revocable sessions and the cookie hand-off.

A session opened through an external identity provider (Supabase) is also kept valid and ended
there; ``REMOTE_SESSIONS`` names what each provider does, and local sessions need neither.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select

from core.actor import Actor
from core.audit import audit
from core.auth import invitations, supabase_service, tokens
from core.auth.models import SignedIn, check_password_rules, normalise_email
from core.auth.passwords import hash_password, needs_rehash, verify_password
from core.auth.repository import live_session, open_session, workspaces_of
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import AuthSession, Membership, SignInAttempt, User, Workspace, utcnow
from core.errors import InvalidInput, PermissionDenied, QuotaExceeded

HANDOFF_SECONDS = 60

# provider -> (keep the session valid there, end it there)
REMOTE_SESSIONS = {"supabase": (supabase_service.keep_session_valid, supabase_service.end_remote_session)}


def sign_up(
    *,
    email: str,
    password: str,
    workspace_name: str = "",
    display_name: str = "",
    invite_token: str = "",
    uow: UnitOfWork | None = None,
) -> int:
    """Create an account; the first user (or anyone, with open sign-up) owns a new workspace.

    An invited address joins only with its invitation's token (``invite_token``), once.
    """
    address = normalise_email(email)
    check_password_rules(password)
    uow = uow or UnitOfWork()
    with uow:
        session = uow.session
        invitation = invitations.redeem(uow, token=invite_token, email=address) if invite_token.strip() else None
        user = session.scalar(select(User).where(User.email == address))
        if user is not None and (user.password_hash is not None or user.external_id is not None):
            raise InvalidInput("An account with this email already exists. Sign in instead.")
        if user is not None and invitation is None:
            raise PermissionDenied(
                f"{address} was invited to a workspace: open the invitation link you were sent "
                "(or ask whoever invited you for it) to join."
            )
        if user is not None:  # invited, and holds the invitation's token: claim the account
            user.password_hash = hash_password(password)
            user.display_name = display_name or user.display_name
            audit(uow, "user.claimed_invite", user_id=user.id)
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
        audit(uow, "user.signed_up", workspace_id=workspace.id, user_id=user.id)
        uow.commit()
        return user.id


def _count_attempt(uow: UnitOfWork, address: str) -> SignInAttempt:
    """Record this attempt as failed *before* its password is checked, then count; refuse past the limit.

    The row is committed first, so every concurrent attempt on the address counts it: of any number
    of parallel attempts at most ``signin_max_failures`` get their password checked (a check that
    succeeds starts the count afresh, as it always has). A refused attempt checked nothing, so its
    row goes again and a lockout does not grow while someone keeps knocking.
    """
    settings = get_settings()
    session = uow.session
    attempt = SignInAttempt(email=address, succeeded=False)
    session.add(attempt)
    uow.commit()
    window_start = utcnow() - timedelta(minutes=settings.signin_lockout_minutes)
    last_success = session.scalar(
        select(func.max(SignInAttempt.created_at)).where(
            SignInAttempt.email == address, SignInAttempt.succeeded.is_(True)
        )
    )
    since = max(window_start, last_success) if last_success else window_start
    attempts = session.scalar(
        select(func.count()).where(
            SignInAttempt.email == address,
            SignInAttempt.succeeded.is_(False),
            SignInAttempt.created_at > since,
        )
    )
    if (attempts or 0) > settings.signin_max_failures:
        session.delete(attempt)
        uow.commit()
        raise QuotaExceeded(
            f"Too many failed sign-ins for {address}. Wait {settings.signin_lockout_minutes} "
            "minutes and try again, or reset your password."
        )
    return attempt


def sign_in(*, email: str, password: str, uow: UnitOfWork | None = None) -> SignedIn:
    """Check the password (throttled per email, counted before the check) and open a new session."""
    address = normalise_email(email)
    uow = uow or UnitOfWork()
    with uow:
        session = uow.session
        attempt = _count_attempt(uow, address)
        user = session.scalar(select(User).where(User.email == address))
        ok = verify_password(user.password_hash if user else None, password)
        if not ok or user is None or not user.is_active:
            raise PermissionDenied("Wrong email or password.")  # the attempt is already counted as failed
        attempt.succeeded = True
        if user.password_hash and needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_sign_in_at = utcnow()
        workspaces = workspaces_of(uow, user.id)
        if not workspaces:
            uow.commit()
            raise PermissionDenied("Your account is not in any workspace. Ask an admin to add you.")
        token, _ = open_session(uow, user_id=user.id)
        uow.commit()
        return SignedIn(user_id=user.id, email=user.email, token=token, workspaces=workspaces)


def restore_session(*, token: str, uow: UnitOfWork | None = None) -> SignedIn | None:
    """The signed-in user for a token, or None when it is forged, expired, revoked or orphaned."""
    if not token:
        return None
    uow = uow or UnitOfWork()
    with uow:
        row = live_session(uow, token)
        if row is None:
            return None
        user = uow.session.get(User, row.user_id)
        if user is None or not user.is_active:
            return None
        workspaces = workspaces_of(uow, user.id)
        if not workspaces:
            return None
        if row.provider in REMOTE_SESSIONS:
            keep_valid, _end = REMOTE_SESSIONS[row.provider]
            valid = keep_valid(uow, row=row, user=user)
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
    if provider in REMOTE_SESSIONS:
        _keep_valid, end_remote = REMOTE_SESSIONS[provider]
        end_remote(sealed_access_token)


def _handoff_hash(code: str, browser: str) -> str:
    return tokens.hash_raw(f"{code}:{browser}")


def create_handoff(*, token: str, browser: str, uow: UnitOfWork | None = None) -> str:
    """A one-time code (valid 60 s) that only the browser with the ``browser`` cookie can trade for the session cookie."""
    if not browser or len(browser) > 100:
        raise InvalidInput("This browser has no sign-in cookie yet. Reload the page and sign in again.")
    uow = uow or UnitOfWork()
    with uow:
        row = live_session(uow, token)
        if row is None:
            raise PermissionDenied("Your session has ended. Sign in again.")
        code = secrets.token_urlsafe(32)
        row.handoff_hash = _handoff_hash(code, browser)
        row.handoff_expires_at = utcnow() + timedelta(seconds=HANDOFF_SECONDS)
        uow.commit()
        return code


def redeem_handoff(*, code: str, browser: str, uow: UnitOfWork | None = None) -> tuple[str, int] | None:
    """Trade a handoff code once for a fresh token of the same user; None when used, stale or another browser's."""
    if not code or len(code) > 100 or not browser or len(browser) > 100:
        return None
    uow = uow or UnitOfWork()
    with uow:
        row = uow.session.scalar(select(AuthSession).where(AuthSession.handoff_hash == _handoff_hash(code, browser)))
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
