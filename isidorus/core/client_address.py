"""Which client a request comes from, for limits that count per address.

The peer address (REMOTE_ADDR) is the client, unless the peer is a trusted proxy
(ISIDORUS_TRUSTED_PROXIES). Then X-Forwarded-For is read from the right: each trusted
proxy appends the address it received the request from, so the right-most entry that is
not a trusted proxy is the first address no proxy of ours vouches for. Entries to its left
were written by the client and are never believed: a spoofed X-Forwarded-For changes
nothing. An entry that does not parse stops the walk at the proxy that reported it.

IPv6 clients are counted per /64: one host usually holds a whole /64, and could otherwise
take a fresh address for every guess.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import cache

from django.conf import settings
from django.http import HttpRequest

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

IPV6_CLIENT_PREFIX = 64
UNKNOWN_CLIENT = "unknown"


def parse_address(raw: str) -> IpAddress | None:
    """An address as peers and proxies write it: `1.2.3.4`, `1.2.3.4:80`, `[::1]:80`, `::1`."""
    text = raw.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@cache
def trusted_networks(spec: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _trusted(address: IpAddress, proxies: Sequence[IpNetwork]) -> bool:
    return any(address in network for network in proxies)


def client_address(
    *, peer: str, forwarded_for: str | None, proxies: Sequence[IpNetwork]
) -> IpAddress | None:
    hop = parse_address(peer)
    if hop is None:
        return None
    entries = forwarded_for.split(",") if forwarded_for else []
    for entry in reversed(entries):
        if not _trusted(hop, proxies):
            return hop
        previous = parse_address(entry)
        if previous is None:
            return hop
        hop = previous
    return hop


def address_bucket(address: IpAddress | None) -> str:
    """The key one client's events are counted under."""
    if address is None:
        return UNKNOWN_CLIENT
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False)
        return str(network)
    return str(address)


def request_client(request: HttpRequest) -> str:
    """The counting key of the client that sent `request` (see the module docstring)."""
    address = client_address(
        peer=str(request.META.get("REMOTE_ADDR") or ""),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        proxies=trusted_networks(tuple(settings.ISIDORUS_TRUSTED_PROXIES)),
    )
    return address_bucket(address)
