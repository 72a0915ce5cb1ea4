"""RFC 9457 problem details: every error of the API as ``application/problem+json`` with a stable type."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from core.errors import (
    ExternalServiceError,
    InvalidInput,
    LeadScoutError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    QuotaExceeded,
)

log = logging.getLogger("api.problems")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"

# status -> (type slug, title); the slugs are part of the API: clients may branch on them.
PROBLEMS: dict[str, tuple[int, str]] = {
    "unauthenticated": (401, "Not authenticated"),
    "forbidden": (403, "Not allowed"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "too-large": (413, "Request too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "invalid-request": (422, "Invalid request"),
    "idempotency-mismatch": (422, "Idempotency-Key reused with a different request"),
    "rate-limited": (429, "Too many requests"),
    "upstream-failed": (502, "A service LeadScout depends on failed"),
    "internal": (500, "Internal error"),
}


class Problem(BaseModel):
    """An RFC 9457 problem."""

    type: str
    title: str
    status: int
    detail: str = ""
    instance: str = ""
    errors: list[dict[str, Any]] | None = None


def problem(
    slug: str, detail: str = "", *, instance: str = "", headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """A problem+json response of the given type."""
    status, title = PROBLEMS[slug]
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body, default=str), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def slug_for(error: LeadScoutError) -> str:
    """The problem type of a LeadScout error."""
    if isinstance(error, NotAuthenticated):
        return "unauthenticated"
    if isinstance(error, NotFound):
        return "not-found"
    if isinstance(error, PermissionDenied):
        return "forbidden"
    if isinstance(error, InvalidInput):
        return "invalid-request"
    if isinstance(error, QuotaExceeded):
        return "rate-limited"
    if isinstance(error, ExternalServiceError):
        return "upstream-failed"
    return "invalid-request"


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> list[str]:
    """The methods some route serves at this path, matched as the router matches (``{id:int}`` only digits).

    Starlette's 405 names only the first matching route's methods; matching the OpenAPI templates as plain
    text named GET for ``POST /messages/approve`` because ``/messages/{message_id}`` looked like it.
    """
    routes = request.app.router.routes
    allowed = [
        method
        for method in HTTP_METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    return allowed or ["GET"]


def install(app: FastAPI) -> None:
    """Map every error to a problem response."""

    @app.exception_handler(LeadScoutError)
    async def _leadscout(request: Request, error: LeadScoutError) -> Response:
        slug = slug_for(error)
        headers = {}
        if slug == "unauthenticated":
            headers["WWW-Authenticate"] = "Bearer"
        retry_after = getattr(error, "retry_after", None)
        if slug == "rate-limited":
            headers["Retry-After"] = str(max(1, int((retry_after or 1) + 0.999)))
        return problem(slug, str(error), instance=request.url.path, headers=headers or None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in error.errors()
        ]
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in errors)[:1000]
        return problem("invalid-request", detail, instance=request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        slug = {
            401: "unauthenticated",
            403: "forbidden",
            404: "not-found",
            405: "method-not-allowed",
            409: "conflict",
            413: "too-large",
            415: "unsupported-media-type",
            429: "rate-limited",
        }.get(error.status_code, "invalid-request" if error.status_code < 500 else "internal")
        detail = error.detail if isinstance(error.detail, str) else json.dumps(error.detail)
        headers = dict(error.headers or {})
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return problem(slug, detail, instance=request.url.path, headers=headers or None)

    @app.exception_handler(Exception)
    async def _bug(request: Request, error: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem("internal", "Something went wrong on our side; it has been logged.", instance=request.url.path)
