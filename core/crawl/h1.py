"""A lean HTTP/1.1 connector (asyncio streams + h11) used under httpx's API by the crawler.

httpcore's pool re-scans every connection under one lock for each request, which costs more
CPU than the request itself when a crawl keeps connections to hundreds of hosts (bench/crawl.py
shows the figures). Here the idle connections are a dict keyed by (scheme, host, port, checked
address), so taking or returning one is O(1), and a connection only ever goes to the address
the SSRF check approved.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import h11
import httpx

from core.crawl.addresses import Target

_Key = tuple[str, str, int, str]


class _Connection:
    __slots__ = ("key", "reader", "writer", "parser", "idle_since")

    def __init__(self, key: _Key, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.key = key
        self.reader = reader
        self.writer = writer
        self.parser = h11.Connection(our_role=h11.CLIENT)
        self.idle_since = 0.0

    def close(self) -> None:
        self.writer.close()


class _Body(httpx.AsyncByteStream):
    def __init__(self, connector: StreamConnector, conn: _Connection, read_timeout: float | None) -> None:
        self._connector = connector
        self._conn: _Connection | None = conn
        self._timeout = read_timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        while True:
            event = await _next_event(conn, self._timeout)
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._conn = None
                self._connector._release(conn)
                return

    async def aclose(self) -> None:
        if self._conn is not None:  # body not read to the end: the connection is unusable
            self._conn.close()
            self._conn = None


async def _next_event(conn: _Connection, timeout: float | None) -> Any:
    while True:
        try:
            event = conn.parser.next_event()
        except h11.RemoteProtocolError as exc:
            conn.close()
            raise httpx.RemoteProtocolError(str(exc)) from exc
        if event is h11.NEED_DATA:
            try:
                async with asyncio.timeout(timeout):
                    data = await conn.reader.read(65536)
            except TimeoutError as exc:
                conn.close()
                raise httpx.ReadTimeout("timed out reading the response") from exc
            except OSError as exc:
                conn.close()
                raise httpx.ReadError(str(exc)) from exc
            conn.parser.receive_data(data)
            continue
        if isinstance(event, h11.ConnectionClosed):
            conn.close()
            raise httpx.RemoteProtocolError("the server closed the connection mid-response")
        return event


class StreamConnector:
    """HTTP/1.1 keep-alive connections to checked addresses, with O(1) idle-pool operations."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_idle_per_origin: int = 2,
        max_idle: int = 256,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._ssl = ssl_context or ssl.create_default_context()
        self._idle: dict[_Key, list[_Connection]] = {}
        self._idle_count = 0
        self._max_idle_per_origin = max_idle_per_origin
        self._max_idle = max_idle
        self._expiry = keepalive_expiry

    def _take_idle(self, key: _Key) -> _Connection | None:
        stack = self._idle.get(key)
        now = time.monotonic()
        while stack:
            conn = stack.pop()
            self._idle_count -= 1
            if not stack:
                del self._idle[key]
            if now - conn.idle_since < self._expiry and not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    def _release(self, conn: _Connection) -> None:
        parser = conn.parser
        if parser.our_state is not h11.DONE or parser.their_state is not h11.DONE:
            conn.close()
            return
        try:
            parser.start_next_cycle()
        except h11.LocalProtocolError:
            conn.close()
            return
        stack = self._idle.setdefault(conn.key, [])
        if len(stack) >= self._max_idle_per_origin:
            conn.close()
            return
        if self._idle_count >= self._max_idle:
            oldest = next(iter(self._idle))
            for old in self._idle.pop(oldest):
                old.close()
                self._idle_count -= 1
            stack = self._idle.setdefault(conn.key, [])
        conn.idle_since = time.monotonic()
        stack.append(conn)
        self._idle_count += 1

    async def _open(self, key: _Key, target: Target, timeout: float | None) -> _Connection:
        tls = self._ssl if target.scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    str(target.address),
                    target.port,
                    ssl=tls,
                    server_hostname=target.host if tls else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"timed out connecting to {target.host}") from exc
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"cannot connect to {target.host} ({exc})") from exc
        return _Connection(key, reader, writer)

    async def send(self, request: httpx.Request, target: Target) -> httpx.Response:
        """Send ``request`` on a kept-alive or new connection to ``target.address``."""
        timeouts = request.extensions.get("timeout", {})
        key: _Key = (target.scheme, target.host, target.port, str(target.address))
        body = await request.aread()
        conn = self._take_idle(key)
        for attempt in (0, 1):
            reused = conn is not None
            if conn is None:
                conn = await self._open(key, target, timeouts.get("connect"))
            try:
                return await self._exchange(conn, request, body, timeouts.get("read"))
            except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
                conn.close()
                if not reused or attempt:  # only a stale kept-alive connection is retried
                    raise
                conn = None
        raise AssertionError("unreachable")

    async def _exchange(
        self, conn: _Connection, request: httpx.Request, body: bytes, read_timeout: float | None
    ) -> httpx.Response:
        parser = conn.parser
        try:
            data = (
                parser.send(
                    h11.Request(method=request.method, target=request.url.raw_path, headers=request.headers.raw)
                )
                or b""
            )
            if body:
                data += parser.send(h11.Data(data=body)) or b""
            data += parser.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc)) from exc
        try:
            conn.writer.write(data)
            await conn.writer.drain()
        except OSError as exc:
            raise httpx.WriteError(str(exc)) from exc
        while True:
            event = await _next_event(conn, read_timeout)
            if isinstance(event, h11.Response):
                break
        return httpx.Response(
            status_code=event.status_code,
            headers=event.headers,
            stream=_Body(self, conn, read_timeout),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": event.reason},
        )

    async def aclose(self) -> None:
        """Close every idle connection."""
        for stack in self._idle.values():
            for conn in stack:
                conn.close()
        self._idle.clear()
        self._idle_count = 0
