"""Fixed name → address answers from the CRAWL_RESOLVE setting (like curl's --resolve).

Tests, benchmarks and the browser journey point fixture host names at 127.0.0.1 this way, in
every process (UI, RQ workers). The addresses still pass the SSRF policy: a private answer is
reachable only if CRAWL_ALLOW_PRIVATE also allows it.
"""

from __future__ import annotations

import ipaddress

from core.crawl.addresses import IPAddress, Resolver, SystemResolver
from core.errors import InvalidInput


class OverrideResolver:
    """Answers configured names (``*.suffix`` patterns allowed) itself; asks the system otherwise."""

    def __init__(self, rules: list[tuple[str, IPAddress]], fallback: Resolver | None = None) -> None:
        self._rules = rules
        self._fallback = fallback or SystemResolver()

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The configured address for ``host``, else the fallback resolver's answer."""
        name = host.rstrip(".").lower()
        for pattern, address in self._rules:
            if name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
                return [address]
        return await self._fallback.resolve(host, port)


def parse_resolve_setting(text: str) -> list[tuple[str, IPAddress]]:
    """Parse ``name=address`` pairs separated by commas; raise ``InvalidInput`` on a bad one."""
    rules = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, address = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInput(f"CRAWL_RESOLVE entry {item!r} should look like *.test=127.0.0.1")
        try:
            rules.append((name.strip().lower(), ipaddress.ip_address(address.strip())))
        except ValueError as exc:
            raise InvalidInput(f"CRAWL_RESOLVE entry {item!r}: {address!r} is not an IP address") from exc
    return rules


def resolver_from_settings(text: str) -> Resolver | None:
    """An ``OverrideResolver`` when CRAWL_RESOLVE is set, else None (the system resolver)."""
    rules = parse_resolve_setting(text)
    return OverrideResolver(rules) if rules else None
