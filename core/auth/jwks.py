"""Supabase access tokens, verified against the project's JWKS with a fixed list of algorithms.

Only asymmetric keys are trusted (Supabase's "JWT signing keys"): the algorithm comes from this
list, never from the token alone, so ``alg: none`` and HS256-with-the-public-key tricks fail.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt

from core.errors import AuthServiceError, PermissionDenied

ALGORITHMS = ("RS256", "ES256")
AUDIENCE = "authenticated"
LEEWAY_SECONDS = 10
JWKS_TTL_SECONDS = 600.0
MIN_REFETCH_SECONDS = 30.0  # an unknown kid refetches the keys at most this often

_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, jwt.PyJWK]]] = {}  # jwks url -> (fetched at, kid -> key)


@dataclass(frozen=True)
class AccessClaims:
    """What LeadScout uses from a verified Supabase access token."""

    subject: str
    email: str
    expires_at: datetime


def issuer_for(supabase_url: str) -> str:
    """The ``iss`` every access token of the project carries."""
    return f"{supabase_url.rstrip('/')}/auth/v1"


def _refused() -> PermissionDenied:
    return PermissionDenied("Your Supabase session could not be verified. Sign in again.")


def forget_keys(supabase_url: str) -> None:
    """Drop the cached signing keys of a project, so the next token fetches them again.

    For a key revoked in Supabase's dashboard (otherwise trusted until the cache expires), and
    for a new project on an address an earlier one used (the test servers)."""
    with _lock:
        _cache.pop(f"{issuer_for(supabase_url)}/.well-known/jwks.json", None)


def _fetch(jwks_url: str, timeout: float) -> dict[str, jwt.PyJWK]:
    try:
        response = httpx.get(jwks_url, timeout=timeout)
        response.raise_for_status()
        document: Any = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise AuthServiceError("Supabase's signing keys could not be fetched; try again in a minute.") from exc
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        if not isinstance(entry, dict) or entry.get("alg") not in ALGORITHMS:
            continue  # symmetric or unknown keys are never trusted
        try:
            keys[str(entry.get("kid", ""))] = jwt.PyJWK(entry)
        except jwt.PyJWKError:
            continue
    return keys


def _key_for(jwks_url: str, kid: str | None, timeout: float) -> jwt.PyJWK | None:
    now = time.monotonic()
    with _lock:
        fetched_at, keys = _cache.get(jwks_url, (float("-inf"), {}))
    stale = now - fetched_at > JWKS_TTL_SECONDS
    unknown = (kid or "") not in keys and now - fetched_at > MIN_REFETCH_SECONDS
    if stale or unknown:
        keys = _fetch(jwks_url, timeout)
        with _lock:
            _cache[jwks_url] = (now, keys)
    if kid is None and len(keys) == 1:
        return next(iter(keys.values()))
    return keys.get(kid or "")


def verify_access_token(token: str, *, supabase_url: str, timeout: float = 10.0) -> AccessClaims:
    """Check signature, algorithm, ``aud``, ``iss`` and expiry; ``PermissionDenied`` when any fails."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise _refused() from exc
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise _refused()
    key = _key_for(f"{issuer_for(supabase_url)}/.well-known/jwks.json", header.get("kid"), timeout)
    if key is None or key.algorithm_name != algorithm:
        raise _refused()
    try:
        claims = jwt.decode(
            token,
            key=key.key,
            algorithms=[algorithm],
            audience=AUDIENCE,
            issuer=issuer_for(supabase_url),
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "sub", "aud", "iss"]},
        )
    except jwt.InvalidTokenError as exc:
        raise _refused() from exc
    return AccessClaims(
        subject=str(claims["sub"]),
        email=str(claims.get("email") or ""),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )
