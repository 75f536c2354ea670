from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from isidorus.accounts.keys import secret_matches, split_key
from isidorus.accounts.models import ApiKey
from isidorus.accounts.services import api_key_create

pytestmark = pytest.mark.django_db
KEYS_URL = "/api/v1/keys/"


def test_create_shows_the_key_once_and_stores_only_its_hash(api: APIClient) -> None:
    response = api.post(KEYS_URL, {"name": "ci"}, format="json")
    assert response.status_code == 201
    raw = response.json()["key"]
    prefix, secret = split_key(raw)
    stored = ApiKey.objects.get(prefix=prefix)
    assert secret not in stored.hashed_secret
    assert secret_matches(secret, stored.hashed_secret)
    listed = api.get(KEYS_URL).json()["results"]
    assert all("key" not in item for item in listed)
    assert {item["name"] for item in listed} == {"primary", "ci"}


def test_the_new_key_works_at_once(api: APIClient, client_for: Any) -> None:
    raw = api.post(KEYS_URL, {"name": "second"}, format="json").json()["key"]
    assert client_for(raw).get(KEYS_URL).status_code == 200


def test_create_names_each_bad_field(api: APIClient) -> None:
    response = api.post(KEYS_URL, {"name": "", "expires_at": "2001-01-01T00:00:00Z"}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid"
    assert set(body["fields"]) == {"name", "expires_at"}


def test_revoke_locks_that_key_out(api: APIClient, client_for: Any) -> None:
    created = api.post(KEYS_URL, {"name": "temp"}, format="json").json()
    assert api.delete(f"{KEYS_URL}{created['id']}/").status_code == 204
    assert client_for(created["key"]).get(KEYS_URL).status_code == 401
    assert api.get(KEYS_URL).status_code == 200


def test_another_owners_key_is_404(api: APIClient, make_user: Any) -> None:
    other_key, _ = api_key_create(owner=make_user("mallory"), name="theirs")
    response = api.delete(f"{KEYS_URL}{other_key.pk}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert ApiKey.objects.get(pk=other_key.pk).revoked_at is None


@override_settings(ISIDORUS_MAX_ACTIVE_KEYS=2)
def test_the_active_key_limit_refuses_one_more(api: APIClient) -> None:
    assert api.post(KEYS_URL, {"name": "two"}, format="json").status_code == 201
    response = api.post(KEYS_URL, {"name": "three"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "key_limit_reached"


@override_settings(ISIDORUS_REQUESTS_PER_MINUTE=3)
def test_the_request_rate_is_per_owner_across_keys(
    api: APIClient, owner: Any, client_for: Any
) -> None:
    _, second_raw = api_key_create(owner=owner, name="second")
    second = client_for(second_raw)
    statuses = [api.get(KEYS_URL).status_code, second.get(KEYS_URL).status_code]
    statuses += [api.get(KEYS_URL).status_code, second.get(KEYS_URL).status_code]
    assert statuses == [200, 200, 200, 429]
    refused = second.get(KEYS_URL)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 61


def test_a_bad_json_body_is_400_not_500(api: APIClient) -> None:
    response = api.generic("POST", KEYS_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
