"""The Supabase Auth (GoTrue) adapter: supabase-py behind a small interface, errors translated.

Each call builds a short-lived client (no shared per-user state, no refresh timers): LeadScout
keeps the tokens server-side and decides itself when to refresh. PKCE verifiers that supabase-py
generates are handed back to the caller, who keeps them in the database keyed by state.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import httpx

from core.config import Settings, get_settings
from core.errors import AuthServiceError, InvalidInput, LeadScoutError, PermissionDenied, QuotaExceeded

if TYPE_CHECKING:
    from supabase_auth import SyncGoTrueClient, SyncMemoryStorage
    from supabase_auth.types import Session

_VERIFIER_SUFFIX = "-code-verifier"
_ENDED = "Your Supabase session has ended. Sign in again."
_MESSAGES: dict[str, tuple[type[LeadScoutError], str]] = {
    "invalid_credentials": (PermissionDenied, "Wrong email or password."),
    "email_not_confirmed": (PermissionDenied, "Confirm your email address first: open the link we sent you."),
    "user_already_exists": (InvalidInput, "An account with this email already exists. Sign in instead."),
    "email_exists": (InvalidInput, "An account with this email already exists. Sign in instead."),
    "signup_disabled": (PermissionDenied, "Sign-up is closed on this Supabase project. Ask an admin."),
    "email_address_invalid": (InvalidInput, "That email address is not accepted. Check for typos."),
    "flow_state_not_found": (PermissionDenied, "This sign-in link has expired or was used already. Start again."),
    "flow_state_expired": (PermissionDenied, "This sign-in link has expired or was used already. Start again."),
    "bad_code_verifier": (PermissionDenied, "This sign-in link does not belong to this sign-in. Start again."),
    "refresh_token_not_found": (PermissionDenied, _ENDED),
    "refresh_token_already_used": (PermissionDenied, _ENDED),
    "session_not_found": (PermissionDenied, _ENDED),
    "session_expired": (PermissionDenied, _ENDED),
    "user_banned": (PermissionDenied, "This account is blocked on Supabase. Ask an admin."),
}


@dataclass(frozen=True)
class ProviderSession:
    """A Supabase session as LeadScout keeps it (the access token is verified separately)."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    user_id: str
    email: str
    email_confirmed: bool


class SupabaseAuth(Protocol):
    """What LeadScout asks of Supabase Auth."""

    def sign_up(self, *, email: str, password: str, redirect_to: str) -> tuple[ProviderSession | None, str]:
        """Create a user; (session or None when confirmation is required, the PKCE verifier)."""
        ...

    def sign_in_with_password(self, *, email: str, password: str) -> ProviderSession:
        """Email and password in, session out."""
        ...

    def authorize_url(self, *, provider: str, redirect_to: str) -> tuple[str, str]:
        """The provider's (Google, Facebook) PKCE authorize URL and its code verifier."""
        ...

    def exchange_code(self, *, auth_code: str, code_verifier: str) -> ProviderSession:
        """Trade a PKCE code and its verifier for a session."""
        ...

    def refresh(self, *, refresh_token: str) -> ProviderSession:
        """A new session for a refresh token (which is then used up)."""
        ...

    def sign_out(self, *, access_token: str) -> None:
        """End this session at Supabase (its refresh token stops working)."""
        ...

    def send_password_reset(self, *, email: str, redirect_to: str) -> str:
        """Email a password-reset link; returns the PKCE verifier the link's code needs."""
        ...

    def set_password(self, *, session: ProviderSession, password: str) -> None:
        """Change the password of the session's user."""
        ...


def translate(exc: Exception) -> LeadScoutError:
    """The LeadScout error for a supabase-py exception (messages fit to show a user)."""
    # imported here: the Supabase SDK takes about 0.5 s to load; only Supabase deployments need it
    from supabase_auth.errors import AuthApiError, AuthWeakPasswordError

    if isinstance(exc, AuthWeakPasswordError):
        return InvalidInput(f"Choose a stronger password: {exc.message}")
    status = getattr(exc, "status", 0) or 0
    code = str(getattr(exc, "code", "") or "")
    if code in _MESSAGES:
        kind, message = _MESSAGES[code]
        return kind(message)
    if status == 429 or code.startswith("over_"):
        return QuotaExceeded("Too many attempts for Supabase Auth. Wait a few minutes and try again.")
    if isinstance(exc, AuthApiError) and 400 <= status < 500:
        return PermissionDenied(f"Supabase Auth refused: {exc.message}")
    return AuthServiceError("Supabase Auth could not be reached or failed. Try again in a minute.")


def _provider_session(session: Session | None) -> ProviderSession:
    if session is None:
        raise AuthServiceError("Supabase Auth answered without a session.")
    expires_at = (
        datetime.fromtimestamp(session.expires_at, UTC)
        if session.expires_at
        else datetime.now(UTC) + timedelta(seconds=session.expires_in)
    )
    return ProviderSession(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_at=expires_at,
        user_id=session.user.id,
        email=(session.user.email or "").lower(),
        email_confirmed=session.user.email_confirmed_at is not None,
    )


class GoTrueAuth:
    """Supabase Auth through supabase-py, at ``url`` with the project's anon key."""

    def __init__(self, *, url: str, anon_key: str, timeout: float = 10.0) -> None:
        self._url = url
        self._anon_key = anon_key
        self._timeout = timeout

    @contextmanager
    def _client(self) -> Iterator[tuple[SyncGoTrueClient, SyncMemoryStorage]]:
        # imported here: the Supabase SDK takes about 0.5 s to load; only Supabase deployments need it
        from supabase import ClientOptions, SupabaseException, create_client
        from supabase_auth import SyncMemoryStorage
        from supabase_auth.errors import AuthError

        storage = SyncMemoryStorage()
        http = httpx.Client(timeout=self._timeout, follow_redirects=True)
        options = ClientOptions(
            auto_refresh_token=False, persist_session=False, storage=storage, flow_type="pkce", httpx_client=http
        )
        try:
            client = create_client(self._url, self._anon_key, options=options)
            yield client.auth, storage
        except (AuthError, SupabaseException) as exc:
            raise translate(exc) from exc
        except httpx.HTTPError as exc:
            raise AuthServiceError("Supabase Auth could not be reached. Try again in a minute.") from exc
        finally:
            http.close()

    @staticmethod
    def _verifier(storage: SyncMemoryStorage) -> str:
        for key, value in storage.storage.items():
            if key.endswith(_VERIFIER_SUFFIX):
                return value.partition("/")[0]
        raise AuthServiceError("supabase-py did not create a PKCE verifier.")

    def sign_up(self, *, email: str, password: str, redirect_to: str) -> tuple[ProviderSession | None, str]:
        """Create a user; (session or None when confirmation is required, the PKCE verifier)."""
        with self._client() as (auth, storage):
            answer = auth.sign_up({"email": email, "password": password, "options": {"email_redirect_to": redirect_to}})
            verifier = self._verifier(storage)
        return (_provider_session(answer.session) if answer.session else None), verifier

    def sign_in_with_password(self, *, email: str, password: str) -> ProviderSession:
        """Email and password in, session out."""
        with self._client() as (auth, _):
            return _provider_session(auth.sign_in_with_password({"email": email, "password": password}).session)

    def authorize_url(self, *, provider: str, redirect_to: str) -> tuple[str, str]:
        """The provider's (Google, Facebook) PKCE authorize URL and its code verifier."""
        with self._client() as (auth, storage):
            answer = auth.sign_in_with_oauth({"provider": provider, "options": {"redirect_to": redirect_to}})  # type: ignore[typeddict-item]
            return answer.url, self._verifier(storage)

    def exchange_code(self, *, auth_code: str, code_verifier: str) -> ProviderSession:
        """Trade a PKCE code and its verifier for a session."""
        with self._client() as (auth, _):
            answer = auth.exchange_code_for_session({"auth_code": auth_code, "code_verifier": code_verifier})  # type: ignore[typeddict-item]
            return _provider_session(answer.session)

    def refresh(self, *, refresh_token: str) -> ProviderSession:
        """A new session for a refresh token (which is then used up)."""
        with self._client() as (auth, _):
            return _provider_session(auth.refresh_session(refresh_token).session)

    def sign_out(self, *, access_token: str) -> None:
        """End this session at Supabase (its refresh token stops working)."""
        # imported here: the Supabase SDK takes about 0.5 s to load; only Supabase deployments need it
        from supabase_auth.errors import AuthApiError

        with self._client() as (auth, _):
            try:
                auth.admin.sign_out(access_token, "local")
            except AuthApiError as exc:
                if exc.status not in (401, 403, 404):  # already signed out is signed out
                    raise

    def send_password_reset(self, *, email: str, redirect_to: str) -> str:
        """Email a password-reset link; returns the PKCE verifier the link's code needs."""
        with self._client() as (auth, storage):
            auth.reset_password_for_email(email, {"redirect_to": redirect_to})
            return self._verifier(storage)

    def set_password(self, *, session: ProviderSession, password: str) -> None:
        """Change the password of the session's user."""
        with self._client() as (auth, _):
            auth.set_session(session.access_token, session.refresh_token)
            auth.update_user({"password": password})


def supabase_auth(settings: Settings | None = None) -> GoTrueAuth:
    """The Supabase Auth adapter for the configured project; ``InvalidInput`` when unset."""
    settings = settings or get_settings()
    if not settings.supabase_url or settings.supabase_anon_key is None:
        raise InvalidInput("Supabase Auth is not configured: set SUPABASE_URL and SUPABASE_ANON_KEY.")
    return GoTrueAuth(
        url=settings.supabase_url,
        anon_key=settings.supabase_anon_key.get_secret_value(),
        timeout=settings.supabase_timeout_seconds,
    )
