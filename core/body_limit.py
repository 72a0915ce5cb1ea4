"""An ASGI middleware that refuses request bodies over a size limit with 413, before they fill memory.

The declared ``Content-Length`` is checked before anything is read, so an honest oversized request
is refused without reading a byte of its body. Any other body (chunked, or one that lies about its
length) is read here up to the limit and refused as soon as it passes it; a body within the limit
is handed to the application whole. The routes behind it only read small bodies (webhooks, forms),
so holding up to the limit is what they would have done anyway. Plain ASGI, so the receiver
(Starlette) and server.py (Streamlit's ``st.App``) can both wrap their routes with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from core.config import get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodySizeLimit:
    """Refuse bodies over ``max_bytes`` (default: MAX_REQUEST_BODY_BYTES) on paths under ``prefixes``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int | None = None,
        prefixes: tuple[str, ...] = ("/",),
        uploads: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.prefixes = prefixes
        self.uploads = uploads  # exact paths that take files: MAX_UPLOAD_BYTES instead

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        settings = get_settings()
        if scope.get("path") in self.uploads:
            limit = settings.max_upload_bytes
        else:
            limit = self.max_bytes if self.max_bytes is not None else settings.max_request_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            part = message.get("body", b"")
            size += len(part)
            if size > limit:
                await _refuse(send, limit)
                return
            parts.append(part)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(parts), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then whatever the server sends next."""
    pending = list(messages)

    async def replaying_receive() -> Message:
        return pending.pop(0) if pending else await receive()

    return replaying_receive


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length itself; the body is still counted
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = f"Request body too large: the limit is {limit} bytes.".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
