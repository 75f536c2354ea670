"""Failed authentications are limited per client address, for API keys and admin logins.

The limit is lowered to a few failures here; the counting itself is the production code's,
in the test Redis database.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from isidorus.accounts.keys import generate_key
from isidorus.accounts.models import ApiKey
from isidorus.accounts.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db
KEYS_URL = "/api/v1/keys/"
LIMIT = 3
ATTACKER = "203.0.113.7"
NEIGHBOUR = "198.51.100.20"
ADMIN_PASSWORD = "pw-correct-horse-42"


@pytest.fixture(autouse=True)
def low_limit(settings: Any, redis_clean: Any) -> None:
    settings.ISIDORUS_AUTH_FAILURE_LIMIT = LIMIT
    settings.ISIDORUS_AUTH_FAILURE_WINDOW_SECONDS = 60
    settings.ISIDORUS_TRUSTED_PROXIES = []


def _client(address: str, key: str | None = None, **headers: Any) -> APIClient:
    client = APIClient(REMOTE_ADDR=address, **headers)
    if key is not None:
        client.credentials(HTTP_X_API_KEY=key)
    return client


def _wrong_key() -> str:
    return generate_key().raw


def _assert_refused_for_failures(response: Any, window: int = 60) -> None:
    assert response.status_code == 429, response.content
    assert 1 <= int(response["Retry-After"]) <= window
    error = response.json()["error"]
    assert error["code"] == "too_many_failed_authentications"
    assert error["message"].startswith("too many failed authentications from this address")
    assert error["fields"] == {}


def test_a_burst_of_wrong_keys_is_refused_before_any_key_is_checked_while_a_neighbour_works(
    raw_key: str,
) -> None:
    neighbour = _client(NEIGHBOUR, raw_key)
    for _ in range(LIMIT):
        assert _client(ATTACKER, _wrong_key()).get(KEYS_URL).status_code == 401
        assert neighbour.get(KEYS_URL).status_code == 200
    _assert_refused_for_failures(_client(ATTACKER, _wrong_key()).get(KEYS_URL))

    # Even the right key is refused from that address, and no key is looked up at all.
    with CaptureQueriesContext(connection) as queries:
        refused = _client(ATTACKER, raw_key).get(KEYS_URL)
    _assert_refused_for_failures(refused)
    assert queries.captured_queries == []
    # The other header is refused the same way; a request without any key is just a 401.
    bearer = APIClient(REMOTE_ADDR=ATTACKER, HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    _assert_refused_for_failures(bearer.get(KEYS_URL))
    assert _client(ATTACKER).get(KEYS_URL).json()["error"]["code"] == "missing_api_key"
    assert neighbour.get(KEYS_URL).status_code == 200


def test_revoked_malformed_and_wrong_secret_keys_all_count(raw_key: str, owner: Any) -> None:
    revoked, revoked_raw = api_key_create(owner=owner, name="old")
    api_key_revoke(key=revoked)
    prefix = raw_key.split(".")[0]
    guesses = [revoked_raw, "not-a-key", f"{prefix}." + "B" * 43]
    codes = [_client(ATTACKER, key).get(KEYS_URL).json()["error"]["code"] for key in guesses]
    assert codes == ["revoked_api_key", "malformed_api_key", "unknown_api_key"]
    _assert_refused_for_failures(_client(ATTACKER, raw_key).get(KEYS_URL))


def test_a_valid_key_does_not_buy_more_guesses_and_the_window_ends(
    raw_key: str, settings: Any
) -> None:
    settings.ISIDORUS_AUTH_FAILURE_WINDOW_SECONDS = 1
    for _ in range(LIMIT - 1):
        _client(ATTACKER, _wrong_key()).get(KEYS_URL)
    assert _client(ATTACKER, raw_key).get(KEYS_URL).status_code == 200
    assert _client(ATTACKER, _wrong_key()).get(KEYS_URL).status_code == 401
    refused = _client(ATTACKER, raw_key).get(KEYS_URL)
    _assert_refused_for_failures(refused, window=1)
    time.sleep(int(refused["Retry-After"]) + 0.05)
    assert _client(ATTACKER, raw_key).get(KEYS_URL).status_code == 200


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored(
    raw_key: str, settings: Any
) -> None:
    settings.ISIDORUS_TRUSTED_PROXIES = ["10.0.0.0/8"]
    # The attacker blames a different address each time, and the neighbour's in the end.
    for index in range(LIMIT):
        spoofed = _client(ATTACKER, _wrong_key(), HTTP_X_FORWARDED_FOR=f"192.0.2.{index}")
        assert spoofed.get(KEYS_URL).status_code == 401
    blamed = _client(ATTACKER, raw_key, HTTP_X_FORWARDED_FOR=NEIGHBOUR)
    _assert_refused_for_failures(blamed.get(KEYS_URL))
    assert _client(NEIGHBOUR, raw_key).get(KEYS_URL).status_code == 200


def test_behind_a_trusted_proxy_the_right_most_untrusted_entry_is_the_client(
    raw_key: str, settings: Any
) -> None:
    settings.ISIDORUS_TRUSTED_PROXIES = ["10.0.0.0/8"]

    def via_proxies(forwarded_for: str, key: str) -> APIClient:
        return _client("10.0.0.2", key, HTTP_X_FORWARDED_FOR=forwarded_for)

    # The client varies what it writes itself; the proxies append its real address.
    for index in range(LIMIT):
        chain = f"192.0.2.{index}, {ATTACKER}, 10.0.0.9"
        assert via_proxies(chain, _wrong_key()).get(KEYS_URL).status_code == 401
    _assert_refused_for_failures(via_proxies(f"{ATTACKER}, 10.0.0.9", raw_key).get(KEYS_URL))
    # Another client behind the same proxies, and the proxy itself, are not refused.
    assert via_proxies(f"{ATTACKER}, {NEIGHBOUR}", raw_key).get(KEYS_URL).status_code == 200
    assert _client("10.0.0.2", raw_key).get(KEYS_URL).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_burst_on_a_real_server_is_cut_off_while_a_valid_key_keeps_working(
    live_server: Any, settings: Any, make_user: Any
) -> None:
    # A real threaded HTTP server; every request arrives from 127.0.0.1, a trusted proxy
    # here, so X-Forwarded-For tells the two clients apart.
    settings.ISIDORUS_TRUSTED_PROXIES = ["127.0.0.1/32"]
    settings.ISIDORUS_AUTH_FAILURE_LIMIT = 5
    _, valid = api_key_create(owner=make_user("victor"), name="k")

    def get(key: str, client: str) -> tuple[int, str | None]:
        request = urllib.request.Request(
            f"{live_server.url}{KEYS_URL}", headers={"X-API-Key": key, "X-Forwarded-For": client}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.headers.get("Retry-After")
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Retry-After")

    calls: list[tuple[str, str]] = []
    for _ in range(20):
        calls += [(_wrong_key(), ATTACKER), (_wrong_key(), ATTACKER), (valid, NEIGHBOUR)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda call: (call[1], *get(*call)), calls))

    attacker = Counter(status for who, status, _ in results if who == ATTACKER)
    neighbour = Counter(status for who, status, _ in results if who == NEIGHBOUR)
    assert neighbour == {200: 20}
    assert set(attacker) == {401, 429}
    # At most the requests already in flight when the limit was reached get checked.
    assert 5 <= attacker[401] <= 5 + 7
    assert all(after for who, status, after in results if status == 429)
    assert get(valid, ATTACKER)[0] == 429


def _admin_login(address: str, password: str) -> Any:
    client = Client(REMOTE_ADDR=address)
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": password})
    return client, response


@pytest.fixture
def superuser(db: None, settings: Any) -> Any:
    # A fast hasher: the tests count logins, they do not measure password hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return get_user_model().objects.create_superuser("root", "root@example.com", ADMIN_PASSWORD)


def test_admin_logins_are_limited_per_address_with_the_reason_on_the_form(superuser: Any) -> None:
    for _ in range(LIMIT):
        _, response = _admin_login(ATTACKER, "wrong-password")
        assert response.status_code == 200
        assert "Please enter the correct username and password" in response.content.decode()
    client, refused = _admin_login(ATTACKER, ADMIN_PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "too many failed authentications from this address" in refused.content.decode()
    assert client.get("/admin/").status_code == 302  # not logged in: back to the login page
    neighbour, response = _admin_login(NEIGHBOUR, ADMIN_PASSWORD)
    assert response.status_code == 302
    assert neighbour.get("/admin/").status_code == 200


def test_wrong_api_keys_and_wrong_passwords_share_one_count(superuser: Any) -> None:
    for _ in range(LIMIT - 1):
        _client(ATTACKER, _wrong_key()).get(KEYS_URL)
    _admin_login(ATTACKER, "wrong-password")
    assert _admin_login(ATTACKER, ADMIN_PASSWORD)[1].status_code == 429
    _assert_refused_for_failures(_client(ATTACKER, _wrong_key()).get(KEYS_URL))


def test_no_log_line_holds_key_material_or_a_password(
    raw_key: str, owner: Any, superuser: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    prefix = raw_key.split(".")[0]
    revoked, revoked_raw = api_key_create(owner=owner, name="old")
    api_key_revoke(key=revoked)
    wrong_secret = "Zq" + generate_key().raw.split(".")[1][2:]
    unknown = generate_key().raw
    malformed = "deadbeef-" + generate_key().raw.split(".")[1]
    secrets = [wrong_secret, unknown.split(".")[1], revoked_raw.split(".")[1], malformed]
    _client(ATTACKER, f"{prefix}.{wrong_secret}").get(KEYS_URL)
    APIClient(REMOTE_ADDR=ATTACKER, HTTP_AUTHORIZATION=f"Api-Key {unknown}").get(KEYS_URL)
    _client(ATTACKER, revoked_raw).get(KEYS_URL)
    _client(ATTACKER, malformed).get(KEYS_URL)  # past the limit: refused unread
    _admin_login(NEIGHBOUR, "hunter2-wrong-password")
    _client(NEIGHBOUR, raw_key).get(KEYS_URL)

    logged = "\n".join(
        f"{record.name} {record.getMessage()} {record.__dict__}" for record in caplog.records
    )
    # The refusals are logged, with the public prefix only, and the block once.
    assert f"API key refused (unknown_api_key) from {ATTACKER}, prefix {prefix}" in logged
    assert f"client {ATTACKER} refused for up to 60 s after 3 failed" in logged
    for secret in [*secrets, raw_key.split(".")[1], "hunter2-wrong-password"]:
        assert secret not in logged
    assert ApiKey.objects.filter(prefix=prefix).exists()
