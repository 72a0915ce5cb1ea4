"""The LeadScout error tree.

    LeadScoutError                  base of every error a page may show to a user
    ├── NotFound                    the thing asked for does not exist in this workspace
    ├── InvalidInput                the user (or a file, or a caller) gave something we cannot use
    ├── PermissionDenied            signed out, wrong role, or not a member of the workspace
    │   ├── NotAuthenticated        no valid credentials: a missing, unknown, revoked or expired API key (HTTP 401)
    │   ├── WebhookUnsigned         a provider webhook came without its signature (HTTP 401)
    │   └── WebhookForged           a provider webhook's signature is wrong, stale or replayed (HTTP 403)
    ├── QuotaExceeded               a budget, rate limit or throttle says no for now
    └── ExternalServiceError        a third-party service failed or said no
        ├── LLMError                OpenAI or a compatible server
        ├── SearchError             Brave Search
        ├── CrawlError              fetching a website
        ├── SendError               SendGrid, Mailgun, SMTP or Twilio
        │   ├── TransientSendError  not taken; a later try may work (429, 5xx, refused connection)
        │   ├── PermanentSendError  refused for good (bad address, unsubscribed number)
        │   └── OutcomeUnknown      may have reached the provider, but no answer came
        ├── MailboxError            the IMAP mailbox replies are read from refused or could not be reached
        └── AuthServiceError        Supabase Auth (GoTrue) or its signing keys

Pages catch ``LeadScoutError`` and show ``str(error)``; anything else is a bug and is logged.
Messages say what went wrong and what to do about it, and never contain secrets.
"""

from __future__ import annotations


class LeadScoutError(Exception):
    """Base class: an expected failure with a message fit to show a user."""


class NotFound(LeadScoutError):
    """Raised when a record does not exist or belongs to another workspace."""


class InvalidInput(LeadScoutError):
    """Raised when input fails validation; the message names the field and the fix."""


class PermissionDenied(LeadScoutError):
    """Raised when the current user may not do this (not signed in, wrong role, revoked)."""


class NotAuthenticated(PermissionDenied):
    """Raised when a request carries no valid credentials (missing, unknown, revoked or expired API key)."""


class WebhookUnsigned(PermissionDenied):
    """Raised when a webhook arrives without the signature its provider always sends (HTTP 401)."""


class WebhookForged(PermissionDenied):
    """Raised when a webhook's signature is wrong, stale or already seen (HTTP 403)."""


class QuotaExceeded(LeadScoutError):
    """Raised when a budget, rate limit or sign-in throttle refuses the action for now."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ExternalServiceError(LeadScoutError):
    """Raised when a third-party service fails; subclasses name which one."""


class LLMError(ExternalServiceError):
    """Raised when the LLM provider fails after retries or returns an unusable answer.

    ``kind`` is the last failure's kind (``core.llm.failures.Failure.kind``): ``unparseable`` and ``refused``
    concern this request's answer, the others (auth, quota, model, rate_limit, server, timeout, connection)
    the service, so a batch stops on them and carries on after the former.
    """

    def __init__(self, message: str, *, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


class SearchError(ExternalServiceError):
    """Raised when the search provider fails after retries."""


class CrawlError(ExternalServiceError):
    """Raised when a website cannot be fetched safely."""


class MailboxError(ExternalServiceError):
    """Raised when the IMAP mailbox that replies are read from refuses the login or cannot be reached."""


class SendError(ExternalServiceError):
    """Raised when an email or SMS provider refuses or fails a send."""


class TransientSendError(SendError):
    """Raised when the provider did not take the message and a later try may work (429, 5xx, refused)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    """Raised when the provider refused the message for good; ``code`` is the provider's error code."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class OutcomeUnknown(SendError):
    """Raised when the request may have reached the provider but no answer came (timeout, crash)."""


class AuthServiceError(ExternalServiceError):
    """Raised when Supabase Auth cannot be reached or answers with something unusable."""
