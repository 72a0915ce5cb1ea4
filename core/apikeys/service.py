"""API keys: created by an admin (the key is shown once, only its SHA-256 is stored), listed, revoked,
and turned back into an ``Actor`` for each API request.

A key acts as the member who created it, in that member's workspace, limited to its scopes
(``read``, ``write``, ``send``). A key whose creator left the workspace stops working.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from core.actor import Actor
from core.audit import audit
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import API_SCOPES, ApiKey, Membership, User, Workspace, utcnow
from core.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied

KEY_PREFIX = "lsk_"
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at (and the "used" audit entry) at most this often


@dataclass(frozen=True)
class CreatedKey:
    """A new key: the only time the full ``key`` is available."""

    id: int
    name: str
    key: str
    scopes: tuple[str, ...]
    expires_at: datetime | None


@dataclass(frozen=True)
class ApiKeyView:
    """A key as Settings lists it (never the key itself)."""

    id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        """Neither revoked nor expired."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())


@dataclass(frozen=True)
class ApiPrincipal:
    """Who an API request acts as: the key's creator in its workspace, within the key's scopes."""

    actor: Actor
    key_id: int
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        """Raise ``PermissionDenied`` unless the key has ``scope``."""
        if scope not in self.scopes:
            raise PermissionDenied(f"This API key lacks the '{scope}' scope.")


def hash_key(key: str) -> str:
    """The stored form of a key (SHA-256 hex; keys are 256 random bits, so no slow hash is needed)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scopes(scopes: list[str] | tuple[str, ...] | str) -> tuple[str, ...]:
    """Scopes from a list or a comma-separated string, checked and in a fixed order."""
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    wanted = {s.strip().lower() for s in items if s.strip()}
    unknown = wanted - set(API_SCOPES)
    if unknown:
        raise InvalidInput(f"Unknown scope(s) {', '.join(sorted(unknown))}; use read, write and/or send.")
    if not wanted:
        raise InvalidInput("Give the key at least one scope: read, write or send.")
    return tuple(s for s in API_SCOPES if s in wanted)


def create_api_key(
    *,
    actor: Actor,
    name: str,
    scopes: list[str] | tuple[str, ...] | str,
    expires_in_days: int | None = None,
    uow: UnitOfWork | None = None,
) -> CreatedKey:
    """A new key for the actor's workspace (admins and owners); the returned ``key`` is never shown again."""
    actor.require_permission("apikey.manage")
    label = " ".join(name.split())
    if not label or len(label) > 120:
        raise InvalidInput("Name the key (1 to 120 characters), e.g. after the system that will use it.")
    chosen = parse_scopes(scopes)
    days = get_settings().api_key_default_days if expires_in_days is None else expires_in_days
    if days < 0:
        raise InvalidInput("The lifetime of a key is a number of days (0 = no expiry).")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=days) if days else None
    uow = uow or UnitOfWork()
    with uow:
        row = ApiKey(
            workspace_id=actor.workspace_id,
            created_by=actor.user_id,
            name=label,
            prefix=key[:12],
            key_hash=hash_key(key),
            scopes=list(chosen),
            expires_at=expires_at,
        )
        uow.session.add(row)
        uow.flush()
        audit(
            uow,
            "api_key.created",
            actor=actor,
            target_type="api_key",
            target_id=row.id,
            detail={"name": label, "scopes": list(chosen), "prefix": row.prefix},
        )
        uow.commit()
        return CreatedKey(id=row.id, name=label, key=key, scopes=chosen, expires_at=expires_at)


def list_api_keys(*, actor: Actor, uow: UnitOfWork | None = None) -> list[ApiKeyView]:
    """The workspace's keys, newest first (admins and owners)."""
    actor.require_permission("apikey.manage")
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.execute(
            select(ApiKey, User.email)
            .join(User, User.id == ApiKey.created_by)
            .where(ApiKey.workspace_id == actor.workspace_id)
            .order_by(ApiKey.id.desc())
        ).all()
        return [
            ApiKeyView(
                k.id, k.name, k.prefix, tuple(k.scopes), email, k.created_at, k.last_used_at, k.expires_at, k.revoked_at
            )
            for k, email in rows
        ]


def revoke_api_key(*, actor: Actor, key_id: int, uow: UnitOfWork | None = None) -> None:
    """Revoke a key of the actor's workspace now (admins and owners)."""
    actor.require_permission("apikey.manage")
    uow = uow or UnitOfWork()
    with uow:
        row = uow.session.get(ApiKey, key_id)
        if row is None or row.workspace_id != actor.workspace_id:
            raise NotFound(f"API key {key_id} was not found in this workspace.")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit(uow, "api_key.revoked", actor=actor, target_type="api_key", target_id=row.id)
        uow.commit()


def authenticate(token: str, *, uow: UnitOfWork | None = None) -> ApiPrincipal:
    """The principal of a bearer key; ``NotAuthenticated`` for a missing, unknown, revoked or expired key."""
    if not token:
        raise NotAuthenticated("Send an API key: Authorization: Bearer <key>.")
    uow = uow or UnitOfWork()
    now = utcnow()
    with uow:
        row = uow.session.execute(
            select(ApiKey, User.email, Workspace.name, Membership.role)
            .join(User, User.id == ApiKey.created_by)
            .join(Workspace, Workspace.id == ApiKey.workspace_id)
            .join(Membership, (Membership.workspace_id == ApiKey.workspace_id) & (Membership.user_id == User.id))
            .where(ApiKey.key_hash == hash_key(token), User.is_active.is_(True))
        ).first()
        if row is None:
            raise NotAuthenticated("This API key is not valid.")
        key, email, workspace_name, role = row
        if key.revoked_at is not None:
            raise NotAuthenticated("This API key was revoked.")
        if key.expires_at is not None and key.expires_at <= now:
            raise NotAuthenticated("This API key has expired; create a new one on the Settings page.")
        actor = Actor(
            user_id=key.created_by, email=email, workspace_id=key.workspace_id, workspace_name=workspace_name, role=role
        )
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
            # At most once a minute per key: a conditional UPDATE, so concurrent requests record one use.
            stamped = uow.session.execute(
                update(ApiKey)
                .where(
                    ApiKey.id == key.id,
                    (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at <= now - LAST_USED_EVERY),
                )
                .values(last_used_at=now)
            )
            if getattr(stamped, "rowcount", 0):
                audit(uow, "api_key.used", actor=actor, target_type="api_key", target_id=key.id)
            uow.commit()
        return ApiPrincipal(actor=actor, key_id=key.id, scopes=frozenset(key.scopes))


def owner_actor(*, workspace_name: str, uow: UnitOfWork | None = None) -> Actor:
    """The first owner of the workspace named ``workspace_name`` (for the command line)."""
    uow = uow or UnitOfWork()
    with uow:
        rows = uow.session.execute(
            select(Workspace.id, Workspace.name, User.id, User.email)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .join(User, User.id == Membership.user_id)
            .where(Workspace.name == workspace_name, Membership.role == "owner")
            .order_by(Workspace.id, Membership.id)
        ).all()
    if not rows:
        raise NotFound(f"No workspace named '{workspace_name}' with an owner.")
    if len({r[0] for r in rows}) > 1:
        raise InvalidInput(f"Several workspaces are named '{workspace_name}'; rename one first.")
    ws_id, ws_name, user_id, email = rows[0]
    return Actor(user_id=user_id, email=email, workspace_id=ws_id, workspace_name=ws_name, role="owner")
