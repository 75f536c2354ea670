"""SSRF guard: what the crawler may connect to, checked on the address connected to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from isidorus.crawling.urls import canonicalize
from isidorus.integrations.http_fetch import FetchLimits, fetch
from isidorus.integrations.network_policy import address_allowed
from tests.support.site import FixtureSite, Route, html, redirect

NOTHING_ALLOWED: list[str] = []


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1",
        "::1", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254",
        "::",
    ],
)  # fmt: skip
def test_internal_addresses_are_refused_by_default(address: str) -> None:
    with override_settings(ISIDORUS_ALLOWED_NETWORKS=NOTHING_ALLOWED):
        assert address_allowed(address) is False


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.4.4"])
def test_public_addresses_are_allowed(address: str) -> None:
    with override_settings(ISIDORUS_ALLOWED_NETWORKS=NOTHING_ALLOWED):
        assert address_allowed(address) is True


def test_the_allow_list_opens_only_the_listed_network() -> None:
    with override_settings(ISIDORUS_ALLOWED_NETWORKS=["127.0.0.2/32"]):
        assert address_allowed("127.0.0.2") is True
        assert address_allowed("127.0.0.1") is False


@pytest.mark.parametrize(
    "spelling", ["http://2130706433/", "http://0177.0.0.1/", "http://0x7f.1/", "http://127.1/"]
)
def test_numeric_host_spellings_are_normalised_before_the_check(spelling: str) -> None:
    assert canonicalize(spelling) == "http://127.0.0.1/"


@pytest.fixture
def internal_site() -> Iterator[FixtureSite]:
    with FixtureSite({"/": Route(body=html("Internal", "<p>secret</p>"))}) as site:
        yield site


def _limits() -> FetchLimits:
    return FetchLimits(total_seconds=5)


def test_a_blocked_address_is_never_connected_to(internal_site: FixtureSite) -> None:
    with override_settings(ISIDORUS_ALLOWED_NETWORKS=NOTHING_ALLOWED):
        result = fetch(internal_site.url("/"), limits=_limits())
    assert (result.outcome, result.reason) == ("failed", "blocked_address")
    assert internal_site.requested_paths() == []


def test_a_redirect_to_an_internal_address_is_refused(internal_site: FixtureSite) -> None:
    routes = {"/": redirect(internal_site.url("/"))}
    with (
        FixtureSite(routes, host="127.0.0.2") as public_site,
        override_settings(ISIDORUS_ALLOWED_NETWORKS=["127.0.0.2/32"]),
    ):
        result = fetch(public_site.url("/"), limits=_limits())
    assert public_site.requested_paths() == ["/"]
    assert (result.outcome, result.reason) == ("failed", "blocked_address")
    assert internal_site.requested_paths() == []


def test_a_name_that_rebinds_to_an_internal_address_is_refused_at_connect(
    internal_site: FixtureSite,
) -> None:
    url = f"http://rebind.test:{internal_site.port}/"
    # When the start URL is checked, the name points at an allowed address...
    with override_settings(
        ISIDORUS_ALLOWED_NETWORKS=["127.0.0.2/32"],
        ISIDORUS_RESOLVER_OVERRIDES={"rebind.test": "127.0.0.2"},
    ):
        assert address_allowed("127.0.0.2")
    # ...and when the fetch connects, it points somewhere internal: the connection is refused.
    with override_settings(
        ISIDORUS_ALLOWED_NETWORKS=["127.0.0.2/32"],
        ISIDORUS_RESOLVER_OVERRIDES={"rebind.test": "127.0.0.1"},
    ):
        result = fetch(url, limits=_limits())
    assert (result.outcome, result.reason) == ("failed", "blocked_address")
    assert internal_site.requested_paths() == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://10.0.0.1/",
        "http://[::ffff:127.0.0.1]/", "http://0x7f.1/", "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:a00:1::]/",
    ],
)  # fmt: skip
def test_the_api_refuses_an_internal_start_url(api: APIClient, url: str) -> None:
    with override_settings(ISIDORUS_ALLOWED_NETWORKS=NOTHING_ALLOWED):
        response = api.post("/api/v1/scrapings/", {"url": url}, format="json")
    assert response.status_code == 400
    assert "not a public address" in str(response.json()["error"]["fields"]["url"])
