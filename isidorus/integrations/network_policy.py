"""Which addresses the crawler may connect to (SSRF guard), and name-resolution overrides.

By default only globally routable unicast addresses are allowed. Loopback, private,
link-local (169.254.169.254 included), CGNAT, multicast and reserved ranges are refused,
in IPv4 and IPv6 (every IETF-reserved IPv6 range, unallocated space such as the SRv6
5f00::/16 included, except the NAT64 prefix 64:ff9b::/96 below). ISIDORUS_ALLOWED_NETWORKS
opens listed networks (development and tests use 127.0.0.0/8); LLM clients may also reach
ISIDORUS_LLM_ALLOWED_NETWORKS (`llm_allowed_networks`). ISIDORUS_RESOLVER_OVERRIDES maps
names to addresses without touching system files, for tests of domain scope and rebinding.

IPv6 addresses that embed an IPv4 address (issue 16). A packet to one of them may end up
at the embedded IPv4 address through a translator, a relay or a tunnel, so an address is
refused when any IPv4 address it may embed is not public:

- NAT64 well-known prefix 64:ff9b::/96 (RFC 6052): the last 32 bits.
- 6to4 2002::/16 (RFC 3056): bits 16-48.
- Teredo 2001::/32 (RFC 4380): the server (bits 32-64) and the client (the last 32 bits,
  inverted). The whole of 2001::/23 is not global, so Teredo is refused anyway.
- ISATAP interface ids ::0:5efe:a.b.c.d and ::200:5efe:a.b.c.d (RFC 5214; the u and g
  bits in any state), under any prefix: a host with an ISATAP interface on that prefix
  tunnels such packets straight to the embedded address. A global host whose interface id
  merely looks like this (and embeds a non-public address) is refused too.
- IPv4-compatible ::a.b.c.d (RFC 4291, deprecated) and IPv4-translated ::ffff:0:a.b.c.d
  (RFC 2765, obsolete): both lie in the IETF-reserved ::/8, refused whole like every
  reserved IPv6 range (nothing is legitimately reached there); their embedded address is
  checked as well.
- NAT64 local-use prefix 64:ff9b:1::/48 (RFC 8215): refused whole. IANA lists it as not
  globally reachable, and where its embedded address sits depends on a prefix length
  (/48 to /96, RFC 6052 section 2.2) only the local network knows; every reading of the
  bits is checked as well.
- IPv4-mapped ::ffff:a.b.c.d is the IPv4 address itself (the kernel connects over IPv4),
  so it is judged as that address, allow list included.

What cannot be recognised: NAT64 network-specific prefixes and 6rd prefixes are ordinary
global prefixes chosen by the network that routes them.

The allow list opens the networks it names and nothing they might be embedded in:
with 127.0.0.0/8 listed, 64:ff9b::7f00:1 is still refused (it reaches loopback only
through a NAT64 gateway, not the local loopback the list means); listing 64:ff9b::/96
itself opens it. Embedded addresses are never compared with the allow list.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from functools import cache
from urllib.parse import urlsplit

from django.conf import settings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# Not globally reachable per IANA's special-purpose registries, though Python 3.11.7's
# ipaddress calls them global. 192.0.0.0/24 goes whole: its two global entries (.9, .10)
# are anycast protocol services, not sites.
_NOT_GLOBAL = tuple(
    ipaddress.ip_network(network) for network in ("192.0.0.0/24", "64:ff9b:1::/48", "3fff::/20")
)
_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
_IPV4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")
_ISATAP_ID = 0x0000_5EFE  # the upper half of an ISATAP interface id, u and g bits masked
_ISATAP_MASK = 0xFCFF_FFFF
_LOW_32 = 0xFFFF_FFFF


class BlockedAddress(Exception):
    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, which is not a public address")
        self.host = host
        self.address = address


@cache
def _allowed_networks(spec: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in spec)


def _unmapped(address: IpAddress) -> IpAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _rfc6052(value: int, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address at RFC 6052's position for a prefix of `prefix_length` bits
    (32, 40, 48, 56, 64 or 96): right after the prefix, skipping bits 64-71."""
    without_u_octet = (value >> 64 << 56) | (value & ((1 << 56) - 1))
    start = prefix_length if prefix_length <= 64 else prefix_length - 8
    return ipaddress.IPv4Address((without_u_octet >> (120 - start - 32)) & _LOW_32)


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """Every IPv4 address a standard form of `address` may carry (see the module doc)."""
    value = int(address)
    found: list[ipaddress.IPv4Address] = []
    if address in _NAT64_WELL_KNOWN or address in _IPV4_COMPATIBLE or address in _IPV4_TRANSLATED:
        found.append(ipaddress.IPv4Address(value & _LOW_32))
    if address in _NAT64_LOCAL_USE:
        found.extend(_rfc6052(value, length) for length in (48, 56, 64, 96))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if (value >> 32) & _ISATAP_MASK == _ISATAP_ID:
        found.append(ipaddress.IPv4Address(value & _LOW_32))
    return tuple(found)


def _public(address: IpAddress) -> bool:
    if address.is_multicast or address in _CGNAT or any(address in n for n in _NOT_GLOBAL):
        return False
    if address.version == 6 and address.is_reserved and address not in _NAT64_WELL_KNOWN:
        return False
    return bool(address.is_global)


def address_allowed(raw: str, allowed_networks: Sequence[str] | None = None) -> bool:
    """Whether `raw` may be connected to: listed in `allowed_networks` (default
    ISIDORUS_ALLOWED_NETWORKS), or public and embedding no IPv4 address that is not."""
    address = _unmapped(ipaddress.ip_address(raw.split("%", 1)[0]))
    listed = settings.ISIDORUS_ALLOWED_NETWORKS if allowed_networks is None else allowed_networks
    if any(address in network for network in _allowed_networks(tuple(listed))):
        return True
    if not _public(address):
        return False
    if isinstance(address, ipaddress.IPv6Address):
        return all(_public(embedded) for embedded in embedded_ipv4(address))
    return True


def llm_allowed_networks() -> list[str]:
    """What LLM endpoints may be reached on besides public addresses: an operator's
    private endpoint must be listed in ISIDORUS_LLM_ALLOWED_NETWORKS."""
    return [*settings.ISIDORUS_ALLOWED_NETWORKS, *settings.ISIDORUS_LLM_ALLOWED_NETWORKS]


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


def allowed_addresses(
    host: str, port: int, allowed_networks: Sequence[str] | None = None
) -> list[tuple[int, str]]:
    """Resolve and keep only allowed addresses; raise BlockedAddress if none is allowed."""
    resolved = resolve(host, port)
    allowed = [
        (family, address)
        for family, address in resolved
        if address_allowed(address, allowed_networks)
    ]
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
