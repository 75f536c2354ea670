"""The network policy on IPv6 addresses that embed an IPv4 address (issue 16)."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from isidorus.integrations.network_policy import (
    address_allowed,
    embedded_ipv4,
    url_address_problem,
)

NOTHING: list[str] = []
TEST_ALLOW_LIST = ["127.0.0.0/8"]  # what the tests, and `make run`, allow

REFUSED = [
    # NAT64 well-known prefix 64:ff9b::/96
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::c0a8:101",
    "64:ff9b::ac10:1", "64:ff9b::6440:1", "64:ff9b::e000:1", "64:ff9b::", "64:ff9b::ffff:ffff",
    "64:ff9b::c000:201",
    # NAT64 local-use prefix 64:ff9b:1::/48: refused whole, even where every reading is global
    "64:ff9b:1::a00:1", "64:ff9b:1::808:808", "64:ff9b:1:808:8:808:808:808",
    # 6to4 2002::/16
    "2002:7f00:1::1", "2002:a00:1::1", "2002:a9fe:a9fe::1", "2002:c0a8:101::", "2002::1",
    # IPv4-compatible ::/96 and IPv4-translated ::ffff:0:0:0/96 (in reserved ::/8): refused whole
    "::7f00:1", "::a00:1", "::a9fe:a9fe", "::808:808",
    "::ffff:0:7f00:1", "::ffff:0:a00:1", "::ffff:0:808:808",
    # IPv4-mapped: judged as the IPv4 address (mapped loopback: see the allow-list test)
    "::ffff:a00:1", "::ffff:a9fe:a9fe", "::ffff:6440:1",
    # Teredo 2001::/32: server 10.0.0.1; client 127.0.0.1; both global (2001::/23 is not)
    "2001:0:a00:1::f7f7:f7f7", "2001:0:808:808::80ff:fffe", "2001:0:808:808::f7f7:f7f7",
    # ISATAP interface ids under a global prefix, u and g bits in every combination
    "2606:4700::5efe:7f00:1", "2606:4700::200:5efe:a00:1", "2606:4700::100:5efe:a9fe:a9fe",
    "2606:4700::300:5efe:c0a8:101", "2002:808:808::5efe:a00:1",
    # other reserved or not globally reachable ranges
    "64:ff9b:2::808:808", "5f00::1", "3fff::1", "192.0.0.9", "fe80::1%eth0",
]  # fmt: skip

ALLOWED = [
    "64:ff9b::808:808", "64:ff9b::101:101", "2002:808:808::1", "2606:4700::200:5efe:808:808",
    "2606:4700::5efe:101:101", "2606:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.4.4",
    "8.8.8.8",
]  # fmt: skip


@pytest.mark.parametrize("allow_list", [NOTHING, TEST_ALLOW_LIST])
@pytest.mark.parametrize("address", REFUSED)
def test_an_address_embedding_a_non_public_ipv4_is_refused(
    address: str, allow_list: list[str]
) -> None:
    assert address_allowed(address, allow_list) is False


@pytest.mark.parametrize("address", ALLOWED)
def test_an_address_embedding_a_public_ipv4_is_allowed(address: str) -> None:
    assert address_allowed(address, NOTHING) is True


def test_the_allow_list_from_settings_is_the_default() -> None:
    with override_settings(ISIDORUS_ALLOWED_NETWORKS=TEST_ALLOW_LIST):
        assert address_allowed("127.0.0.1") is True
        assert address_allowed("64:ff9b::7f00:1") is False


def test_a_listed_ipv4_network_opens_its_mapped_form_but_no_embedding_of_it() -> None:
    assert address_allowed("127.0.0.1", TEST_ALLOW_LIST) is True
    # The mapped form is the same destination: the kernel connects to 127.0.0.1 over IPv4.
    assert address_allowed("::ffff:127.0.0.1", TEST_ALLOW_LIST) is True
    assert address_allowed("::ffff:127.0.0.1", NOTHING) is False


def test_listing_the_ipv6_network_itself_opens_it() -> None:
    assert address_allowed("64:ff9b::7f00:1", ["64:ff9b::/96"]) is True
    assert address_allowed("64:ff9b::a00:1", ["64:ff9b::7f00:0/104"]) is False
    assert address_allowed("64:ff9b:1::a00:1", ["64:ff9b:1::/48"]) is True


def test_a_name_that_dns64_maps_to_an_internal_address_is_refused() -> None:
    # A DNS64 resolver answers an internal name's A record 10.0.0.1 as 64:ff9b::a00:1.
    with override_settings(
        ISIDORUS_ALLOWED_NETWORKS=TEST_ALLOW_LIST,
        ISIDORUS_RESOLVER_OVERRIDES={"intranet.test": "64:ff9b::a00:1"},
    ):
        problem = url_address_problem("http://intranet.test/")
    assert problem == "resolves to 64:ff9b::a00:1, which is not a public address"


@pytest.mark.parametrize(
    ("address", "embedded"),
    [
        ("64:ff9b::c000:221", ["192.0.2.33"]),
        ("2002:c000:221::1", ["192.0.2.33"]),
        ("::c000:221", ["192.0.2.33"]),
        ("::ffff:0:c000:221", ["192.0.2.33"]),
        # RFC 4380's example: server 65.54.227.120, client 192.0.2.45 (inverted bits)
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", ["65.54.227.120", "192.0.2.45"]),
        ("2606:4700::5efe:c000:221", ["192.0.2.33"]),
        ("2606:4700::200:5efe:c000:221", ["192.0.2.33"]),
        # Local-use NAT64: RFC 6052's /48, /56, /64 and /96 readings of the same bits
        ("64:ff9b:1:c000:2:2100::", ["192.0.2.33", "0.2.33.0", "2.33.0.0", "0.0.0.0"]),
        ("2606:4700::1111", []),
        ("2606:4700::400:5efe:c000:221", []),  # not an ISATAP id: other bits than u and g
    ],
)
def test_embedded_ipv4_reads_every_standard_form(address: str, embedded: list[str]) -> None:
    found = embedded_ipv4(ipaddress.IPv6Address(address))
    assert [str(item) for item in found] == embedded


ipv4_addresses = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)


@settings(max_examples=300, deadline=None)
@given(ipv4_addresses)
def test_each_embedding_is_allowed_exactly_when_the_ipv4_address_is(
    v4: ipaddress.IPv4Address,
) -> None:
    value = int(v4)
    direct = address_allowed(str(v4), NOTHING)
    embeddings = [
        (0x0064_FF9B << 96) | value,  # NAT64 well-known prefix
        (0x2002 << 112) | (value << 80),  # 6to4
        (0x2606_4700 << 96) | (0x0200_5EFE << 32) | value,  # ISATAP under a global prefix
    ]
    for embedding in embeddings:
        assert address_allowed(str(ipaddress.IPv6Address(embedding)), NOTHING) is direct
