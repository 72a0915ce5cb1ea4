"""Address checks before sending: 10,000 addresses over 1,000 domains through ``core.outreach.verify``
with its per-domain cache, beside the same addresses with the cache off and a bare dnspython MX
resolve of the same 1,000 domains, all against one local DNS server (dnslib, loopback) in the same run.

    PYTHONPATH=. .venv/bin/python bench/verify.py [--addresses 10000] [--domains 1000] [--latency-ms 0]

``--latency-ms`` holds back each DNS answer (a real resolver's round trip); the domains are 80 % with
MX, 10 % with only an A record, 10 % NXDOMAIN; 2 % of the addresses are role accounts.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dns.nameserver  # noqa: E402
import dns.resolver  # noqa: E402

from core.outreach.verify import DomainResolver, check_addresses  # noqa: E402
from tests.fixtures.dns_server import LocalDNS, Zones  # noqa: E402


def domains_and_addresses(n_addresses: int, n_domains: int) -> tuple[Zones, list[str], list[str]]:
    domains = [f"company{i}.bench-example.com" for i in range(n_domains)]
    zones = Zones()
    for i, domain in enumerate(domains):
        (zones.nxdomain if i % 10 == 9 else zones.a_only if i % 10 == 8 else zones.mx).add(domain)
    addresses = [
        f"{'info' if i % 50 == 0 else f'person{i}'}@{domains[(i * 7919) % n_domains]}" for i in range(n_addresses)
    ]
    return zones, domains, addresses


def timed_checks(server: LocalDNS, addresses: list[str], *, cache_seconds: float) -> tuple[float, Counter[str], int]:
    host, port = server.nameserver.split(":")
    resolver = DomainResolver(nameservers=[(host, int(port))], timeout=5.0, cache_seconds=cache_seconds)
    started = time.perf_counter()
    checks = check_addresses(addresses, resolver)
    return time.perf_counter() - started, Counter(c.state for c in checks), resolver.lookups


def bare_dnspython(server: LocalDNS, domains: list[str]) -> float:
    """Seconds for one MX query per domain with dnspython alone (NXDOMAIN and no-answer caught, nothing else)."""
    host, port = server.nameserver.split(":")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [dns.nameserver.Do53Nameserver(host, int(port))]
    resolver.timeout = resolver.lifetime = 5.0
    started = time.perf_counter()
    for domain in domains:
        try:
            resolver.resolve(domain, "MX", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--domains", type=int, default=1_000)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay before each DNS answer")
    args = parser.parse_args()
    zones, domains, addresses = domains_and_addresses(args.addresses, args.domains)
    zones.delay = args.latency_ms / 1000
    with LocalDNS(zones) as server:
        cached_s, states, cached_lookups = timed_checks(server, addresses, cache_seconds=3600)
        uncached_s, uncached_states, uncached_lookups = timed_checks(server, addresses, cache_seconds=0)
        bare_s = bare_dnspython(server, domains)
    assert states == uncached_states
    n = len(addresses)
    print(f"{n:,} addresses over {len(domains):,} domains, local dnslib server, {args.latency_ms:g} ms per answer")
    print(f"states: {dict(sorted(states.items()))}")
    print(f"{'run':<44} {'seconds':>8} {'addresses/s':>12} {'DNS lookups':>12}")
    print(f"{'verify, with the per-domain cache':<44} {cached_s:>8.2f} {n / cached_s:>12,.0f} {cached_lookups:>12,}")
    print(f"{'verify, cache off':<44} {uncached_s:>8.2f} {n / uncached_s:>12,.0f} {uncached_lookups:>12,}")
    print(
        f"{'bare dnspython MX resolve, same domains':<44} {bare_s:>8.2f} {'':>12} {len(domains):>12,}"
        f"   ({len(domains) / bare_s:,.0f} domains/s)"
    )
    print(
        f"cached vs cache off: {uncached_s / cached_s:.1f}x faster; cached run vs the bare resolve of its domains: "
        f"{bare_s / cached_s:.2f}x (1.0 = the checks cost nothing beyond DNS)"
    )


if __name__ == "__main__":
    main()
