"""What went wrong with an LLM request, whether to try again, and how long to wait."""

from __future__ import annotations

from dataclasses import dataclass

import openai
import pydantic

from core.retry import retry_after_seconds


@dataclass(frozen=True)
class Failure:
    """One failed attempt: a message fit for a user, and whether another try may help."""

    kind: str  # auth | quota | model | rate_limit | server | timeout | connection | unparseable | refused
    message: str
    retryable: bool
    retry_after: float | None = None


def _error_code(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("code") or inner.get("type") or "")
    return str(exc.code or "")


def classify(exc: Exception, *, model: str, base_url: str, timeout: float) -> Failure:
    """Translate an SDK or parsing exception into a ``Failure``; unknown errors are re-raised."""
    if isinstance(exc, openai.APITimeoutError):
        return Failure("timeout", f"The LLM did not answer within {timeout:g} s.", True)
    if isinstance(exc, openai.APIConnectionError):
        return Failure("connection", f"Could not reach the LLM server at {base_url}.", True)
    if isinstance(exc, openai.AuthenticationError):
        return Failure("auth", "The LLM server refused the API key (401). Check OPENAI_API_KEY in Settings.", False)
    if isinstance(exc, openai.PermissionDeniedError):
        return Failure("auth", f"This API key may not use model '{model}' (403).", False)
    if isinstance(exc, openai.NotFoundError):
        return Failure(
            "model",
            f"Model '{model}' was not found at {base_url} (404). Check OPENAI_MODEL and OPENAI_BASE_URL.",
            False,
        )
    if isinstance(exc, openai.RateLimitError):
        headers = dict(exc.response.headers)
        if _error_code(exc) == "insufficient_quota":
            return Failure(
                "quota",
                "The LLM account has run out of quota (429 insufficient_quota). Add credit or raise "
                "the limit with the provider, then try again.",
                False,
            )
        return Failure(
            "rate_limit", "The LLM server is rate-limiting requests (429).", True, retry_after_seconds(headers)
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status >= 500 or status in (408, 409):
            return Failure(
                "server",
                f"The LLM server failed (HTTP {status}).",
                True,
                retry_after_seconds(dict(exc.response.headers)),
            )
        return Failure("refused", f"The LLM server rejected the request (HTTP {status}): {exc.message[:200]}", False)
    if isinstance(exc, openai.LengthFinishReasonError):
        return Failure("unparseable", "the answer was cut off at the output token limit", True)
    if isinstance(exc, openai.ContentFilterFinishReasonError):
        return Failure("refused", "The LLM's content filter blocked the answer.", False)
    if isinstance(exc, (pydantic.ValidationError, ValueError)):
        first = str(exc).splitlines()
        detail = first[0][:160] if first else type(exc).__name__
        return Failure("unparseable", f"the answer did not match the expected structure ({detail})", True)
    raise exc
