"""The API's conventions as ASGI middleware: request ids, refusal of NUL bytes, per-key rate limits,
and Idempotency-Key replay on POST. Plain ASGI (no BaseHTTPMiddleware), each step small.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.concurrency import run_in_threadpool

from api.problems import problem
from core.apikeys import idempotency
from core.apikeys.service import hash_key
from core.config import get_settings
from core.errors import InvalidInput
from core.logs import log_context
from core.ratelimit import RateLimiter, token_bucket

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger("api.requests")
API_PREFIX = "/api/v1/"
UNMETERED = ("/api/v1/openapi.json", "/api/v1/docs")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def bearer_token(scope: Scope) -> str:
    """The key from ``Authorization: Bearer <key>`` (empty when absent)."""
    value = _header(scope, b"authorization")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


async def _read_body(receive: Receive) -> bytes:
    """The whole request body (BodySizeLimit, outside these middlewares, has already bounded it)."""
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


def _replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the app once, then passes through (disconnects)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _send_problem(scope: Scope, receive: Receive, send: Send, slug: str, detail: str, **kw: Any) -> None:
    await problem(slug, detail, instance=str(scope.get("path", "")), **kw)(scope, receive, send)


class RequestId:
    """Every response carries ``X-Request-ID`` (the client's, when it sent a sane one); every log line has it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        status = {"code": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        with log_context(request_id=request_id):
            await self.app(scope, receive, send_with_id)
            if str(scope.get("path", "")).startswith(API_PREFIX):
                log.info("%s %s -> %s", scope.get("method"), scope.get("path"), status["code"])


MULTIPART_BOUNDARY = re.compile(r';\s*boundary="?([^";]+)"?', re.IGNORECASE)


def _without_boundary(content_type: str, body: bytes) -> tuple[str, bytes]:
    """A multipart form's content type and body with its boundary written as one fixed token: a client picks a
    new random boundary for each request, so a repeated upload (curl -F, requests' files=) is the same form."""
    found = MULTIPART_BOUNDARY.search(content_type) if content_type.lower().startswith("multipart/") else None
    if found is None:
        return content_type, body
    boundary = found.group(1).encode("latin-1", "replace")
    fixed = MULTIPART_BOUNDARY.sub("; boundary=BOUNDARY", content_type)
    return fixed, body.replace(b"--" + boundary, b"--BOUNDARY")


class RefuseNul:
    """A NUL byte in the query string or a JSON body is refused with 422 (PostgreSQL cannot store it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        refused = "A NUL character is not allowed in a request."
        if b"\x00" in unquote_to_bytes(query) or "\x00" in str(scope.get("path", "")):
            await _send_problem(scope, receive, send, "invalid-request", refused)
            return
        if scope.get("method") not in ("POST", "PATCH", "PUT"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if b"\\u0000" in body or b"\x00" in body:
            await _send_problem(scope, receive, send, "invalid-request", refused)
            return
        replay = _replaying(body, receive)

        await self.app(scope, replay, send)


class RateLimit:
    """Per API key (or per client address without one): a token bucket, shared through Redis when set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._buckets: dict[str, RateLimiter] = {}
        self._lock = threading.Lock()

    def _bucket(self, who: str) -> RateLimiter:
        with self._lock:
            bucket = self._buckets.get(who)
            if bucket is None:
                settings = get_settings()
                redis = None
                if settings.redis_url:
                    # imported here: redis loads only where REDIS_URL is set
                    from redis import Redis

                    redis = Redis.from_url(settings.redis_url)
                bucket = token_bucket(
                    key=f"api:{who}", rate=settings.api_rate_per_second, burst=settings.api_rate_burst, redis=redis
                )
                if len(self._buckets) > 10_000:
                    self._buckets.clear()
                self._buckets[who] = bucket
            return bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or not path.startswith(API_PREFIX) or path.startswith(UNMETERED):
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope)
        client = scope.get("client") or ("?", 0)
        who = hash_key(token)[:32] if token else f"ip:{client[0]}"
        wait = await run_in_threadpool(self._bucket(who).try_take)
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            await _send_problem(
                scope,
                receive,
                send,
                "rate-limited",
                f"Rate limit reached; retry in {seconds} s.",
                headers={"Retry-After": str(seconds)},
            )
            return
        await self.app(scope, receive, send)


class Idempotency:
    """``Idempotency-Key`` on a POST: the same key and body replay the first response; another body is 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = scope["type"] == "http" and any(name == b"idempotency-key" for name, _ in scope.get("headers", []))
        token = bearer_token(scope) if given else ""
        if (
            not given
            or scope.get("method") != "POST"
            or not str(scope.get("path", "")).startswith(API_PREFIX)
            or not token
        ):
            await self.app(scope, receive, send)
            return
        key = _header(scope, b"idempotency-key").strip(" \t")
        if not key:
            # An empty (or all-blank) key used to be ignored, so the POST ran unprotected while the client
            # believed it was safe to repeat (Schemathesis: a key violating minLength was accepted).
            await _send_problem(scope, receive, send, "invalid-request", "Idempotency-Key must not be empty.")
            return
        body = await _read_body(receive)
        content_type, hashed_body = _without_boundary(_header(scope, b"content-type"), body)
        digest = hashlib.sha256()
        for part in (
            scope["path"].encode(),
            scope.get("query_string", b""),
            content_type.encode(),
            hashed_body,
        ):
            digest.update(len(part).to_bytes(8, "big") + part)
        try:
            claim = await run_in_threadpool(
                lambda: idempotency.claim(
                    key_hash=hash_key(token), idempotency_key=key, request_hash=digest.hexdigest()
                )
            )
        except InvalidInput as error:
            slug = "idempotency-mismatch" if "different request" in str(error) else "invalid-request"
            await _send_problem(scope, receive, send, slug, str(error))
            return
        if claim.in_progress:
            await _send_problem(
                scope,
                receive,
                send,
                "conflict",
                "A request with this Idempotency-Key is still being handled; retry.",
                headers={"Retry-After": "1"},
            )
            return
        if claim.record_id is None:
            await send(
                {
                    "type": "http.response.start",
                    "status": claim.status_code,
                    "headers": [
                        (b"content-type", claim.content_type.encode("latin-1")),
                        (b"idempotent-replayed", b"true"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": claim.body.encode()})
            return
        replay = _replaying(body, receive)

        captured: dict[str, Any] = {"status": 500, "content_type": "", "body": b""}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name == b"content-type":
                        captured["content_type"] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay, capture)
        finally:
            record_id = claim.record_id
            status = int(captured["status"])
            if status >= 500 or status in (401, 429):
                await run_in_threadpool(lambda: idempotency.release(record_id=record_id))
            else:
                text = bytes(captured["body"]).decode("utf-8", "replace")
                await run_in_threadpool(
                    lambda: idempotency.finish(
                        record_id=record_id, status_code=status, content_type=captured["content_type"], body=text
                    )
                )
