from __future__ import annotations

import pytest

from isidorus.core.client_address import (
    address_bucket,
    client_address,
    parse_address,
    trusted_networks,
)

PROXIES = trusted_networks(("10.0.0.0/8", "fd00::/8"))


def _client(peer: str, forwarded_for: str | None = None) -> str:
    return address_bucket(client_address(peer=peer, forwarded_for=forwarded_for, proxies=PROXIES))


def test_an_untrusted_peer_is_the_client_whatever_its_forwarded_for_says() -> None:
    assert _client("203.0.113.7") == "203.0.113.7"
    assert _client("203.0.113.7", "198.51.100.1") == "203.0.113.7"
    assert _client("203.0.113.7", "198.51.100.1, 10.0.0.5") == "203.0.113.7"


def test_behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client() -> None:
    assert _client("10.0.0.2", "203.0.113.7") == "203.0.113.7"
    # The client wrote the left-most entries itself; only what our proxies appended counts.
    assert _client("10.0.0.2", "6.6.6.6, 198.51.100.9, 203.0.113.7, 10.0.0.9") == "203.0.113.7"


def test_a_trusted_peer_without_forwarded_for_or_with_only_proxies_is_the_furthest_hop() -> None:
    assert _client("10.0.0.2") == "10.0.0.2"
    assert _client("10.0.0.2", "10.1.1.1, 10.0.0.9") == "10.1.1.1"


def test_an_entry_that_does_not_parse_stops_at_the_proxy_that_reported_it() -> None:
    assert _client("10.0.0.2", "203.0.113.7, unknown") == "10.0.0.2"
    assert _client("10.0.0.2", "203.0.113.7, 10.0.0.9, garbage") == "10.0.0.2"
    assert _client("10.0.0.2", "garbage, 203.0.113.7") == "203.0.113.7"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("203.0.113.7:5555", "203.0.113.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        (" 2001:db8::1 ", "2001:db8::1"),
        ('"203.0.113.7"', "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("", None),
        ("not-an-address", None),
    ],
)
def test_addresses_are_read_as_peers_and_proxies_write_them(raw: str, expected: str | None) -> None:
    parsed = parse_address(raw)
    assert (None if parsed is None else str(parsed)) == expected


def test_ipv6_clients_are_counted_per_64_and_a_missing_peer_as_unknown() -> None:
    assert _client("2001:db8:1:2::1") == _client("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert _client("2001:db8:1:3::1") != _client("2001:db8:1:2::1")
    assert _client("fd00::1", "2001:db8:1:2::77, fd00::2") == "2001:db8:1:2::/64"
    assert _client("") == "unknown"
