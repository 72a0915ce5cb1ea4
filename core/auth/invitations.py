"""Invitations: the signed, single-use token a new member needs to join a workspace.

Inviting an email creates the account (without a password) and its membership, but nobody can
take that account by signing up with the address: sign-up needs the invitation's token, which
is (invitation id, random nonce) signed with ``SECRET_KEY``. It reaches the invited person
through the link the inviter sees on the team page. A token works once, only for its email and
until it expires. A Supabase identity whose email Supabase has confirmed needs no token.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import CursorResult, select, update

from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import Invitation, utcnow
from core.errors import PermissionDenied

_SALT = "leadscout.invitation"


@dataclass(frozen=True)
class InvitationView:
    """An open invitation as the team page shows it."""

    invitation_id: int
    email: str
    role: str
    expires_at: datetime
    link: str


def create(uow: UnitOfWork, *, workspace_id: int, user_id: int, email: str, invited_by: int | None) -> Invitation:
    """A new invitation of ``user_id`` to ``workspace_id`` (inside the caller's transaction)."""
    invitation = Invitation(
        workspace_id=workspace_id,
        user_id=user_id,
        email=email,
        nonce=secrets.token_urlsafe(24),
        invited_by=invited_by,
        expires_at=utcnow() + timedelta(days=get_settings().invitation_valid_days),
    )
    uow.session.add(invitation)
    uow.flush()
    return invitation


def token_of(invitation: Invitation) -> str:
    """The invitation's signed token."""
    return str(_serializer().dumps([invitation.id, invitation.nonce]))


def link_of(invitation: Invitation) -> str:
    """The link that opens sign-up with the invitation's token filled in."""
    base = get_settings().public_base_url.rstrip("/")
    return f"{base}/?{urlencode({'invite': token_of(invitation)})}"


def redeem(uow: UnitOfWork, *, token: str, email: str) -> Invitation:
    """Use the invitation behind ``token`` for ``email`` (once); ``PermissionDenied`` says why not."""
    try:
        invitation_id, nonce = _serializer().loads((token or "").strip())
    except (BadSignature, TypeError, ValueError) as exc:
        raise PermissionDenied("This invitation link is not valid. Ask whoever invited you for a new one.") from exc
    invitation = uow.session.get(Invitation, invitation_id) if isinstance(invitation_id, int) else None
    if invitation is None or not secrets.compare_digest(invitation.nonce, str(nonce)):
        raise PermissionDenied("This invitation link is not valid. Ask whoever invited you for a new one.")
    if invitation.email != email:
        raise PermissionDenied("This invitation is for another email address. Sign up with the invited address.")
    if invitation.used_at is not None:
        raise PermissionDenied("This invitation was already used. Sign in instead, or ask for a new invitation.")
    now = utcnow()
    if invitation.expires_at <= now:
        raise PermissionDenied("This invitation has expired. Ask whoever invited you for a new one.")
    used = cast(
        CursorResult[Any],
        uow.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation.id, Invitation.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if used.rowcount != 1:  # a parallel sign-up used it first
        raise PermissionDenied("This invitation was already used. Sign in instead, or ask for a new invitation.")
    close_for_user(uow, user_id=invitation.user_id, now=now)
    return invitation


def close_for_user(uow: UnitOfWork, *, user_id: int, workspace_id: int | None = None, now: datetime) -> None:
    """Mark a user's open invitations used (they joined, or were removed from ``workspace_id``)."""
    query = update(Invitation).where(Invitation.user_id == user_id, Invitation.used_at.is_(None))
    if workspace_id is not None:
        query = query.where(Invitation.workspace_id == workspace_id)
    uow.session.execute(query.values(used_at=now).execution_options(synchronize_session=False))


def open_invitations(uow: UnitOfWork, *, workspace_id: int) -> list[Invitation]:
    """A workspace's invitations not used and not expired, newest first."""
    return list(
        uow.session.scalars(
            select(Invitation)
            .where(
                Invitation.workspace_id == workspace_id,
                Invitation.used_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.id.desc())
        )
    )


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().signing_key(), salt=_SALT)
