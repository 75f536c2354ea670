"""Which addresses the crawler may connect to (SSRF guard), and name-resolution overrides.

By default only globally routable unicast addresses are allowed. Loopback, private,
link-local (169.254.169.254 included), CGNAT, multicast and reserved ranges are refused,
in IPv4 and IPv6, IPv4-mapped IPv6 included. ISIDORUS_ALLOWED_NETWORKS opens listed
networks (development and tests use 127.0.0.0/8). ISIDORUS_RESOLVER_OVERRIDES maps names
to addresses without touching system files, for tests of domain scope and rebinding.
"""

from __future__ import annotations

import ipaddress
import socket
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class BlockedAddress(Exception):
    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host = host
        self.address = address


@cache
def _allowed_networks(
    spec: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _unmapped(address: IpAddress) -> IpAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_allowed(raw: str) -> bool:
    address = _unmapped(ipaddress.ip_address(raw.split("%", 1)[0]))
    if any(
        address in network
        for network in _allowed_networks(tuple(settings.ISIDORUS_ALLOWED_NETWORKS))
    ):
        return True
    if address.is_multicast or address in _CGNAT:
        return False
    return bool(address.is_global)


def resolve(host: str, port: int) -> list[tuple[int, str]]:
    """(family, address) pairs for host, honouring the override map first."""
    override = settings.ISIDORUS_RESOLVER_OVERRIDES.get(host.lower().rstrip("."))
    if override is not None:
        family = socket.AF_INET6 if ":" in override else socket.AF_INET
        return [(family, override)]
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, str(literal))]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[tuple[int, str]] = []
    for family, _, _, _, sockaddr in infos:
        entry = (int(family), str(sockaddr[0]))
        if entry not in seen:
            seen.append(entry)
    return seen


def allowed_addresses(host: str, port: int) -> list[tuple[int, str]]:
    """Resolve and keep only allowed addresses; raise BlockedAddress if none is allowed."""
    resolved = resolve(host, port)
    allowed = [(family, address) for family, address in resolved if address_allowed(address)]
    if not allowed:
        raise BlockedAddress(host, resolved[0][1] if resolved else "nothing")
    return allowed


def url_address_problem(url: str) -> str | None:
    """Why a URL's host may not be crawled (a user-facing reason), or None if it may.

    Used to refuse a start URL up front with a clear 400. The fetcher checks again, on
    the address it actually connects to, so this is not the only line of defence.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        allowed_addresses(host, port)
    except BlockedAddress as blocked:
        return f"resolves to {blocked.address}, which is not a public address"
    except (socket.gaierror, UnicodeError):
        return f"the host {host!r} cannot be resolved"
    return None
