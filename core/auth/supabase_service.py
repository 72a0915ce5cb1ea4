"""Sign-in through Supabase Auth: email/password, Google and Facebook (PKCE), password reset.

Supabase says who someone is; LeadScout then opens its own revocable session (provider
"supabase") and keeps Supabase's tokens server-side on that row, sealed. The browser only ever
holds LeadScout's HttpOnly cookie. Links that come back to the app (OAuth callback, email
confirmation, password reset) carry ``?state=...&code=...``; the PKCE verifier waits in
``oauth_state`` under that state and is used once.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast
from urllib.parse import parse_qs, urlencode, urlsplit

from sqlalchemy import CursorResult, delete, func, select, update

from core.audit import audit
from core.auth import invitations, jwks, tokens
from core.auth.models import SignedIn, normalise_email
from core.auth.repository import open_session, workspaces_of
from core.auth.supabase import ProviderSession, SupabaseAuth, supabase_auth
from core.config import get_settings
from core.db import UnitOfWork
from core.db.models import AuthSession, Membership, OAuthState, User, Workspace, utcnow
from core.errors import AuthServiceError, InvalidInput, PermissionDenied

log = logging.getLogger(__name__)

OAUTH_PROVIDERS = {"google": "Google", "facebook": "Facebook"}
STATE_TTL = timedelta(minutes=30)
REFRESH_MARGIN = timedelta(seconds=60)
_RECOVERY = "recovery"


@dataclass(frozen=True)
class CallbackResult:
    """A finished redirect: the new session, and whether the user came to choose a new password."""

    signed: SignedIn
    password_recovery: bool


def callback_url(state: str) -> str:
    """Where Supabase sends the browser back to: the app's address with our state."""
    return f"{get_settings().public_base_url.rstrip('/')}/?{urlencode({'state': state})}"


def oauth_callback_url(state: str) -> str:
    """Where Google/Facebook sign-in returns: a server route that checks the browser's state cookie."""
    return f"{get_settings().public_base_url.rstrip('/')}/session/oauth-callback?{urlencode({'state': state})}"


def oauth_state_of(authorize_url: str) -> str | None:
    """The state inside an authorize URL we built, if the URL points at our Supabase project."""

    base = (get_settings().supabase_url or "").rstrip("/")
    if not base or not authorize_url.startswith(f"{base}/auth/v1/authorize?"):
        return None
    redirect = parse_qs(urlsplit(authorize_url).query).get("redirect_to", [""])[0]
    if not redirect.startswith(oauth_callback_url("")[: -len("state=")]):
        return None
    state = parse_qs(urlsplit(redirect).query).get("state", [""])[0]
    with UnitOfWork() as uow:
        row = uow.session.scalar(select(OAuthState).where(OAuthState.state == state, OAuthState.used_at.is_(None)))
        return state if row is not None and row.provider in OAUTH_PROVIDERS else None


def _verify(session: ProviderSession) -> jwks.AccessClaims:
    settings = get_settings()
    claims = jwks.verify_access_token(
        session.access_token, supabase_url=settings.supabase_url or "", timeout=settings.supabase_timeout_seconds
    )
    if claims.subject != session.user_id:
        raise PermissionDenied("Supabase's answer does not match its token. Sign in again.")
    return claims


def _store_tokens(row: AuthSession, session: ProviderSession) -> None:
    row.provider_access_token = tokens.seal(session.access_token)
    row.provider_refresh_token = tokens.seal(session.refresh_token)
    row.provider_expires_at = session.expires_at


def _user_for(uow: UnitOfWork, *, subject: str, email: str, email_confirmed: bool) -> User:
    """The LeadScout user of a Supabase identity: found, linked by (confirmed) email, or created."""
    session = uow.session
    user = session.scalar(select(User).where(User.external_id == subject))
    if user is None:
        address = normalise_email(email)
        user = session.scalar(select(User).where(User.email == address))
        if user is not None:
            if user.external_id is not None or not email_confirmed:
                raise PermissionDenied(f"{address} belongs to another sign-in here. Ask an admin.")
            user.external_id = subject
            invitations.close_for_user(uow, user_id=user.id, now=utcnow())  # the confirmed email stands for the token
            audit(uow, "user.linked_supabase", user_id=user.id)
        else:
            first_user = session.scalar(select(func.count()).select_from(User)) == 0
            if not first_user and not get_settings().open_signup:
                raise PermissionDenied("Sign-up is by invitation here. Ask an admin to add your email.")
            user = User(email=address, external_id=subject, password_hash=None)
            workspace = Workspace(name=f"{address.split('@')[0]}'s team")
            session.add_all([user, workspace])
            uow.flush()
            session.add(Membership(workspace_id=workspace.id, user_id=user.id, role="owner"))
            audit(uow, "user.signed_up", workspace_id=workspace.id, user_id=user.id)
    if not user.is_active:
        raise PermissionDenied("This account is disabled. Ask an admin.")
    return user


def _open(uow: UnitOfWork, provider_session: ProviderSession) -> SignedIn:
    claims = _verify(provider_session)
    with uow:
        user = _user_for(
            uow,
            subject=claims.subject,
            email=claims.email or provider_session.email,
            email_confirmed=provider_session.email_confirmed,
        )
        user.last_sign_in_at = utcnow()
        uow.flush()
        workspaces = workspaces_of(uow, user.id)
        if not workspaces:
            uow.commit()
            raise PermissionDenied("Your account is not in any workspace. Ask an admin to add you.")
        token, row = open_session(uow, user_id=user.id, provider="supabase")
        _store_tokens(row, provider_session)
        uow.commit()
        return SignedIn(user_id=user.id, email=user.email, token=token, workspaces=workspaces)


def _remember_verifier(uow: UnitOfWork, *, state: str, kind: str, verifier: str) -> None:
    with uow:
        uow.session.execute(delete(OAuthState).where(OAuthState.created_at < utcnow() - timedelta(days=1)))
        uow.session.add(OAuthState(state=state, provider=kind, code_verifier=verifier))
        uow.commit()


def sign_up(
    *, email: str, password: str, uow: UnitOfWork | None = None, gotrue: SupabaseAuth | None = None
) -> SignedIn | None:
    """Create a Supabase account; None means Supabase emailed a confirmation link to follow first."""
    address = normalise_email(email)
    uow, gotrue = uow or UnitOfWork(), gotrue or supabase_auth()
    state = secrets.token_urlsafe(32)
    provider_session, verifier = gotrue.sign_up(email=address, password=password, redirect_to=callback_url(state))
    if provider_session is not None:
        return _open(uow, provider_session)
    _remember_verifier(uow, state=state, kind="email", verifier=verifier)
    return None


def sign_in(
    *, email: str, password: str, uow: UnitOfWork | None = None, gotrue: SupabaseAuth | None = None
) -> SignedIn:
    """Check email and password with Supabase and open a LeadScout session."""
    address = normalise_email(email)
    gotrue = gotrue or supabase_auth()
    return _open(uow or UnitOfWork(), gotrue.sign_in_with_password(email=address, password=password))


def start_oauth(*, provider: str, uow: UnitOfWork | None = None, gotrue: SupabaseAuth | None = None) -> str:
    """The URL that starts Google or Facebook sign-in; its PKCE verifier stays in the database."""
    if provider not in OAUTH_PROVIDERS:
        raise InvalidInput(f"Unknown sign-in provider '{provider}'. Use Google or Facebook.")
    gotrue = gotrue or supabase_auth()
    state = secrets.token_urlsafe(32)
    url, verifier = gotrue.authorize_url(provider=provider, redirect_to=oauth_callback_url(state))
    _remember_verifier(uow or UnitOfWork(), state=state, kind=provider, verifier=verifier)
    return url


def request_password_reset(*, email: str, uow: UnitOfWork | None = None, gotrue: SupabaseAuth | None = None) -> None:
    """Have Supabase email a reset link; following it signs in and asks for a new password."""
    address = normalise_email(email)
    gotrue = gotrue or supabase_auth()
    state = secrets.token_urlsafe(32)
    verifier = gotrue.send_password_reset(email=address, redirect_to=callback_url(state))
    _remember_verifier(uow or UnitOfWork(), state=state, kind=_RECOVERY, verifier=verifier)


def finish_redirect(
    *,
    state: str,
    code: str,
    browser_state: str | None = None,
    uow: UnitOfWork | None = None,
    gotrue: SupabaseAuth | None = None,
) -> CallbackResult:
    """Use a returning link's state once, trade its code for a session, and sign in.

    A Google/Facebook sign-in must come back to the browser that started it (``browser_state``,
    the HttpOnly cookie set when it started); otherwise a link sent by someone else could sign the
    victim into the sender's account (login CSRF). Email links may open in any browser.
    """
    if not state or not code or len(state) > 128 or len(code) > 512:
        raise PermissionDenied("This sign-in link is incomplete. Start again.")
    uow, gotrue = uow or UnitOfWork(), gotrue or supabase_auth()
    with uow:
        kind = uow.session.scalar(select(OAuthState.provider).where(OAuthState.state == state))
    if kind in OAUTH_PROVIDERS and not secrets.compare_digest(browser_state or "", state):
        raise PermissionDenied("This sign-in was started in another browser. Start again here.")
    with uow:
        # One UPDATE claims the state: a replayed or concurrent callback finds nothing left to claim.
        claimed = cast(
            CursorResult[Any],
            uow.session.execute(
                update(OAuthState)
                .where(
                    OAuthState.state == state,
                    OAuthState.used_at.is_(None),
                    OAuthState.created_at > utcnow() - STATE_TTL,
                )
                .values(used_at=utcnow())
            ),
        ).rowcount
        row = uow.session.scalar(select(OAuthState).where(OAuthState.state == state)) if claimed == 1 else None
        if row is None:
            raise PermissionDenied("This sign-in link has expired or was used already. Start again.")
        verifier, kind = row.code_verifier, row.provider
        uow.commit()
    signed = _open(uow, gotrue.exchange_code(auth_code=code, code_verifier=verifier))
    return CallbackResult(signed=signed, password_recovery=kind == _RECOVERY)


def _provider_session_of(row: AuthSession, user: User) -> ProviderSession | None:
    access, refresh = tokens.unseal(row.provider_access_token), tokens.unseal(row.provider_refresh_token)
    if not access or not refresh or row.provider_expires_at is None:
        return None
    return ProviderSession(
        access_token=access,
        refresh_token=refresh,
        expires_at=row.provider_expires_at,
        user_id=user.external_id or "",
        email=user.email,
        email_confirmed=True,
    )


def set_new_password(
    *, token: str, password: str, uow: UnitOfWork | None = None, gotrue: SupabaseAuth | None = None
) -> None:
    """Change the Supabase password of the user signed in with ``token`` (after a reset link)."""
    digest = tokens.token_hash(token or "")
    uow, gotrue = uow or UnitOfWork(), gotrue or supabase_auth()
    with uow:
        row = uow.session.scalar(select(AuthSession).where(AuthSession.token_hash == digest)) if digest else None
        user = uow.session.get(User, row.user_id) if row is not None and row.revoked_at is None else None
        provider_session = _provider_session_of(row, user) if row is not None and user is not None else None
    if provider_session is None:
        raise PermissionDenied("Your session has ended. Request a new reset link.")
    gotrue.set_password(session=provider_session, password=password)


def keep_session_valid(uow: UnitOfWork, *, row: AuthSession, user: User, gotrue: SupabaseAuth | None = None) -> bool:
    """Refresh Supabase's tokens shortly before they expire and verify the access token.

    Runs inside ``restore_session``'s transaction; False means the session must end (it is
    revoked unless Supabase was merely unreachable).
    """
    if row.provider_expires_at is None or row.provider_expires_at - utcnow() < REFRESH_MARGIN:
        # Lock the row so two reruns of one browser do not both spend the same refresh token.
        uow.session.refresh(row, with_for_update=True)
    current = _provider_session_of(row, user)
    if current is None:
        row.revoked_at = utcnow()
        return False
    if current.expires_at - utcnow() < REFRESH_MARGIN:
        try:
            current = (gotrue or supabase_auth()).refresh(refresh_token=current.refresh_token)
        except PermissionDenied:
            row.revoked_at = utcnow()
            return False
        except AuthServiceError:
            if current.expires_at <= utcnow():
                return False
        else:
            _store_tokens(row, current)
    try:
        claims = _verify(current)
    except PermissionDenied:
        row.revoked_at = utcnow()
        return False
    except AuthServiceError:
        return False
    if claims.subject != user.external_id:
        row.revoked_at = utcnow()
        return False
    return True


def end_remote_session(sealed_access_token: str | None) -> None:
    """Best effort: tell Supabase that a revoked session ended (its refresh token dies with it)."""
    access = tokens.unseal(sealed_access_token)
    if not access or not get_settings().supabase_enabled:
        return
    try:
        supabase_auth().sign_out(access_token=access)
    except (PermissionDenied, AuthServiceError) as error:
        log.info("Supabase sign-out not confirmed: %s", error)
