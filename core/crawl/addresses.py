"""SSRF policy: which URLs and addresses the crawler may connect to, and name resolution."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from core.errors import CrawlError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata and host-agent endpoints; most are caught by the range checks anyway.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "100.100.100.200", "168.63.129.16", "fd00:ec2::254")
)
NAT64_NETWORKS = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


class Resolver(Protocol):
    """Turns a host name into the addresses it stands for."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` resolves to (raise ``OSError`` when it does not resolve)."""


class SystemResolver:
    """The operating system's resolver (getaddrinfo), without blocking the event loop."""

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address the system resolver gives for ``host``."""
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        seen: dict[str, IPAddress] = {}
        for _family, _type, _proto, _name, sockaddr in infos:
            text = str(sockaddr[0]).split("%", 1)[0]
            seen.setdefault(text, ipaddress.ip_address(text))
        return list(seen.values())


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in NAT64_NETWORKS):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0:  # IPv4-compatible ::a.b.c.d (deprecated)
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """True when ``address`` is a globally routable unicast address and not a metadata endpoint."""
    if address in METADATA_ADDRESSES:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return is_public_address(embedded)
        if address.is_site_local:
            return False
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host literal stands for, including legacy IPv4 forms (127.1, 0x7f.1, 2130706433)."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    labels = text.rstrip(".").split(".")
    if labels and _NUMERIC_LABEL.match(labels[-1]):
        # A numeric last label makes the whole host an IPv4 address (WHATWG URL): parse it
        # the way inet_aton does, and refuse it when that fails rather than resolve it.
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text.rstrip(".")))
        except OSError as exc:
            raise CrawlError(f"refused: {host!r} is neither a host name nor an IP address") from exc
    return None


@dataclass(frozen=True)
class AddressPolicy:
    """What may be reached: public addresses on allowed ports, plus the configured exceptions."""

    allowed_ports: frozenset[int] = frozenset({80, 443})
    private_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    private_hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_settings_text(cls, *, allow_private: str, allowed_ports: str) -> AddressPolicy:
        """Build from CRAWL_ALLOW_PRIVATE ("127.0.0.1/32,*.test") and CRAWL_ALLOWED_PORTS."""
        networks, hosts = [], set()
        for entry in (e.strip().lower() for e in allow_private.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.rstrip("."))
        ports = frozenset(int(p) for p in allowed_ports.split(",") if p.strip())
        return cls(allowed_ports=ports, private_networks=tuple(networks), private_hosts=frozenset(hosts))

    def host_is_allowed_private(self, host: str) -> bool:
        """True when the configuration lets ``host`` resolve to a private address."""
        return any(
            host == entry or (entry.startswith("*.") and host.endswith(entry[1:])) for entry in self.private_hosts
        )

    def address_is_allowed(self, host: str, address: IPAddress) -> bool:
        """True when connecting to ``address`` for ``host`` is permitted."""
        if is_public_address(address):
            return True
        if any(address in net for net in self.private_networks):
            return True
        return self.host_is_allowed_private(host)


@dataclass(frozen=True)
class Target:
    """A URL that passed the checks, and the one address the connection must go to."""

    url: str
    scheme: str
    host: str
    port: int
    address: IPAddress


def _parse(url: str) -> tuple[httpx.URL, str]:
    """The parsed URL and its host; ``CrawlError`` for anything httpx or the idna codec refuses."""
    try:
        parsed = httpx.URL(url)
        host = parsed.host  # decodes an "xn--" name, which may raise IDNAError
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise CrawlError(f"refused: not a valid URL ({exc})") from exc
    if parsed.scheme not in ("http", "https"):
        raise CrawlError(f"refused: scheme {parsed.scheme!r} is not http or https")
    if parsed.userinfo:
        raise CrawlError("refused: URLs with a user name or password are not fetched")
    if not host:
        raise CrawlError("refused: the URL has no host")
    return parsed, host


def _refuse_private_literal(url: str, policy: AddressPolicy) -> None:
    """Read the host as a browser would before httpx sees it: httpx rejects legacy spellings of an
    address (0177.0.0.1, 127.000.000.001) as invalid, but the refusal must say what they point at."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return  # malformed; _parse gives the reason
    literal = parse_ip_literal(host) if host else None
    if host and literal is not None and not policy.address_is_allowed(host, literal):
        raise CrawlError(f"refused: {host} is or resolves to a non-public address ({literal})")


def check_url_form(url: str, *, policy: AddressPolicy) -> tuple[httpx.URL, str, int, IPAddress | None]:
    """Everything about ``url`` that needs no name lookup; raise ``CrawlError`` with the reason.

    Returns the parsed URL, its host, port and the address the host spells (None for a name).
    """
    if any(ch == "\\" or ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise CrawlError("refused: the URL contains a backslash, space or control character")
    _refuse_private_literal(url, policy)
    parsed, host = _parse(url)
    host = host.rstrip(".").lower()
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if port not in policy.allowed_ports:
        raise CrawlError(f"refused: port {port} is not allowed")
    literal = parse_ip_literal(host)
    if literal is not None and not policy.address_is_allowed(host, literal):
        raise CrawlError(f"refused: {host} is or resolves to a non-public address ({literal})")
    return parsed, host, port, literal


async def check_url(url: str, *, policy: AddressPolicy, resolver: Resolver) -> Target:
    """Validate ``url`` and resolve it once; raise ``CrawlError`` unless every address is allowed."""
    parsed, host, port, literal = check_url_form(url, policy=policy)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        try:
            addresses = await resolver.resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise CrawlError(f"{host} does not resolve ({exc})") from exc
        if not addresses:
            raise CrawlError(f"{host} does not resolve")
    blocked = [str(a) for a in addresses if not policy.address_is_allowed(host, a)]
    if blocked:
        raise CrawlError(f"refused: {host} is or resolves to a non-public address ({', '.join(blocked)})")
    return Target(url=str(parsed), scheme=parsed.scheme, host=host, port=port, address=addresses[0])
