"""httpx transports that connect only to the address the SSRF check approved."""

from __future__ import annotations

import ssl
import typing
from collections import OrderedDict
from typing import Protocol

import httpcore
import httpx

from core.crawl.addresses import AddressPolicy, Resolver, SystemResolver, Target, check_url
from core.errors import CrawlError


class Connector(Protocol):
    """Sends a request over a connection to ``target.address`` (never to a fresh lookup)."""

    async def send(self, request: httpx.Request, target: Target) -> httpx.Response:
        """Send ``request`` to the checked address and return the streamed response."""

    async def aclose(self) -> None:
        """Close every connection."""


class GuardedTransport(httpx.AsyncBaseTransport):
    """Checks every request (so every redirect hop) against the policy before it is sent."""

    def __init__(self, *, policy: AddressPolicy, connector: Connector, resolver: Resolver | None = None) -> None:
        self._policy = policy
        self._resolver = resolver or SystemResolver()
        self._connector = connector

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Refuse unsafe targets with ``CrawlError``; send the rest to the checked address."""
        target = await check_url(str(request.url), policy=self._policy, resolver=self._resolver)
        return await self._connector.send(request, target)

    async def aclose(self) -> None:
        """Close the connector's connections."""
        await self._connector.aclose()


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting to the pinned address of a host instead of its name."""

    def __init__(self, pins: typing.MutableMapping[tuple[str, int], str]) -> None:
        self._pins = pins
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        address = self._pins.get((host.lower(), port))
        if address is None:
            raise httpcore.ConnectError(f"refused: {host} was not checked before connecting")
        return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, *args: typing.Any, **kwargs: typing.Any) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("refused: unix sockets are never used by the crawler")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class HttpcoreConnector:
    """httpx's own transport and httpcore's pool, with the pinned network backend."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, limits: httpx.Limits | None = None) -> None:
        self._pins: OrderedDict[tuple[str, int], str] = OrderedDict()
        limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=50)
        self._transport = httpx.AsyncHTTPTransport(trust_env=False, limits=limits)
        # httpx has no public hook for a network backend: swap in a pool that uses ours.
        self._transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or ssl.create_default_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_PinnedBackend(self._pins),
        )

    async def send(self, request: httpx.Request, target: Target) -> httpx.Response:
        """Pin the host to the checked address, then let httpcore's pool send the request."""
        self._pins[(target.host, target.port)] = str(target.address)
        self._pins.move_to_end((target.host, target.port))
        while len(self._pins) > 10_000:
            self._pins.popitem(last=False)
        try:
            return await self._transport.handle_async_request(request)
        except httpx.HTTPError:
            raise
        except httpcore.ConnectError as exc:  # raised by our backend outside httpx's mapping
            raise CrawlError(str(exc)) from exc

    async def aclose(self) -> None:
        """Close the pool."""
        await self._transport.aclose()
