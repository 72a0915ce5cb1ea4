"""The SSRF table: every URL here must be refused before any connection is made."""

from __future__ import annotations

import asyncio
import ipaddress

import httpx
import pytest

from core.crawl.addresses import AddressPolicy, Target, check_url, is_public_address
from core.crawl.transport import GuardedTransport
from core.errors import CrawlError

ip = ipaddress.ip_address


class TableResolver:
    """Names used by the table, each with its (hostile) answer; counts lookups."""

    answers = {
        "public-and-private.example.com": [ip("93.184.216.34"), ip("10.0.0.5")],
        "loopback.example.com": [ip("127.0.0.1")],
        "metadata.example.com": [ip("169.254.169.254")],
        "v6-ula.example.com": [ip("fd12:3456::1")],
        "mapped.example.com": [ip("::ffff:192.168.1.1")],
        "public.example.com": [ip("93.184.216.34")],
        "localhost": [ip("127.0.0.1"), ip("::1")],
    }

    def __init__(self) -> None:
        self.lookups: list[str] = []

    async def resolve(self, host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        self.lookups.append(host)
        if host not in self.answers:
            raise OSError("NXDOMAIN")
        return list(self.answers[host])


REFUSED = [
    # loopback in every spelling
    "http://127.0.0.1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://2130706433/",  # decimal
    "http://017700000001/",  # octal
    "http://0177.0.0.1/",  # octal dotted
    "http://0x7f000001/",  # hex
    "http://0x7f.0x0.0x0.0x1/",  # hex dotted
    "http://0x7f.1/",
    "http://127.000.000.001/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://localhost/",
    "http://loopback.example.com/",
    # unspecified
    "http://0.0.0.0/",
    "http://0/",
    "http://[::]/",
    # RFC 1918, CGNAT, link-local, metadata
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.0.1/",
    "http://3232235521/",  # 192.168.0.1 in decimal
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://metadata.example.com/",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",
    "http://v6-ula.example.com/",
    "http://[fc00::1]/",
    "http://mapped.example.com/",
    # IPv4 hidden in IPv6: 6to4 and NAT64 of private addresses
    "http://[2002:c0a8:0101::1]/",  # 6to4 of 192.168.1.1
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://[64:ff9b::10.0.0.1]/",  # NAT64 of 10.0.0.1
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    # multicast, broadcast, reserved, documentation, benchmarking
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://255.255.255.255/",
    "http://240.0.0.1/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    # one bad answer among good ones
    "http://public-and-private.example.com/",
    # schemes, ports, userinfo, backslashes, malformed hosts
    "file:///etc/passwd",
    "ftp://public.example.com/",
    "gopher://public.example.com/",
    "dict://public.example.com:11211/",
    "javascript:alert(1)",
    "http://public.example.com:8080/",
    "http://public.example.com:22/",
    "http://user@public.example.com/",
    "http://public.example.com@127.0.0.1/",
    "http://user:pass@public.example.com/",
    "http://public.example.com\\@127.0.0.1/",
    "http:\\\\127.0.0.1\\",
    "http://public.example.com\\.evil/",
    "http://1.2.3.999/",  # numeric last label but not an address: never resolved
    "http:///nohost",
    "http://xn--localhost-/",  # an A-label the idna codec refuses
    "http://xn--a-.plink.test/contact",
    "data:text/html,hi",
    "http://does-not-resolve.example.com/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_url_is_refused(url: str) -> None:
    resolver = TableResolver()
    with pytest.raises(CrawlError):
        asyncio.run(check_url(url, policy=AddressPolicy(), resolver=resolver))


LITERAL_ADDRESSES = [url for url in REFUSED[:45] if "example.com" not in url and "localhost" not in url]


@pytest.mark.parametrize("url", LITERAL_ADDRESSES)
def test_an_address_in_any_spelling_is_refused_without_asking_the_resolver(url: str) -> None:
    """Numeric hosts are read as the address they spell: no DNS answer can make them public."""
    resolver = TableResolver()
    with pytest.raises(CrawlError):
        asyncio.run(check_url(url, policy=AddressPolicy(), resolver=resolver))
    assert resolver.lookups == []


@pytest.mark.parametrize("url", ["http://0177.0.0.1/", "http://127.000.000.001/", "http://0300.0250.0.1/"])
def test_legacy_spellings_httpx_cannot_parse_are_refused_as_the_private_address_they_spell(url: str) -> None:
    with pytest.raises(CrawlError, match=r"non-public address \((127\.0\.0\.1|192\.168\.0\.1)\)"):
        asyncio.run(check_url(url, policy=AddressPolicy(), resolver=TableResolver()))


def test_a_name_is_refused_for_its_answer_not_for_its_spelling() -> None:
    resolver = TableResolver()
    with pytest.raises(CrawlError, match="private|internal|not public|loopback|address"):
        asyncio.run(check_url("http://loopback.example.com/", policy=AddressPolicy(), resolver=resolver))
    assert resolver.lookups == ["loopback.example.com"]


def test_public_names_and_addresses_pass() -> None:
    resolver = TableResolver()
    target = asyncio.run(check_url("https://public.example.com/x", policy=AddressPolicy(), resolver=resolver))
    assert (target.host, target.port, str(target.address)) == ("public.example.com", 443, "93.184.216.34")
    assert is_public_address(ip("8.8.8.8")) and is_public_address(ip("2606:4700::1111"))
    assert is_public_address(ip("64:ff9b::808:808"))  # NAT64 of a public address (IPv6-only networks)


def test_allow_private_lets_only_configured_hosts_and_networks_through() -> None:
    policy = AddressPolicy.from_settings_text(allow_private="*.test,10.9.0.0/16", allowed_ports="80,443,8080")
    resolver = TableResolver()
    resolver.answers = {"shop.test": [ip("127.0.0.1")], "other.example.com": [ip("10.9.1.1")]}
    assert (
        str(asyncio.run(check_url("http://shop.test:8080/", policy=policy, resolver=resolver)).address) == "127.0.0.1"
    )
    assert (
        str(asyncio.run(check_url("http://other.example.com/", policy=policy, resolver=resolver)).address) == "10.9.1.1"
    )
    with pytest.raises(CrawlError, match="non-public"):
        asyncio.run(check_url("http://10.8.0.1/", policy=policy, resolver=resolver))


class FlippingResolver:
    """DNS rebinding: a public answer for the check, a private one for any later lookup."""

    def __init__(self) -> None:
        self.calls = 0

    async def resolve(self, host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        self.calls += 1
        return [ip("93.184.216.34")] if self.calls == 1 else [ip("127.0.0.1")]


class RecordingConnector:
    """Records the address each request would be sent to, instead of connecting."""

    def __init__(self) -> None:
        self.targets: list[Target] = []

    async def send(self, request: httpx.Request, target: Target) -> httpx.Response:
        self.targets.append(target)
        return httpx.Response(200, text="<html>ok</html>")

    async def aclose(self) -> None:
        pass


def test_rebinding_name_is_connected_to_the_checked_address_only() -> None:
    resolver, connector = FlippingResolver(), RecordingConnector()
    transport = GuardedTransport(policy=AddressPolicy(), connector=connector, resolver=resolver)

    async def two_requests() -> None:
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get("http://rebind.example.com/")
            with pytest.raises(CrawlError, match="non-public"):
                await client.get("http://rebind.example.com/again")

    asyncio.run(two_requests())
    # One lookup per request; the request that went out went to the address that was checked.
    assert resolver.calls == 2
    assert [str(t.address) for t in connector.targets] == ["93.184.216.34"]
