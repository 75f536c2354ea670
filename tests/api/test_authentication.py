from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from isidorus.accounts.models import ApiKey

pytestmark = pytest.mark.django_db
KEYS_URL = "/api/v1/keys/"


def _error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_a_valid_key_in_x_api_key_is_accepted(api: APIClient) -> None:
    assert api.get(KEYS_URL).status_code == 200


def test_a_valid_key_in_the_authorization_header_is_accepted(raw_key: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    assert client.get(KEYS_URL).status_code == 200


def test_no_key_is_401_missing(redis_clean: Any) -> None:
    response = APIClient().get(KEYS_URL)
    assert response.status_code == 401
    assert _error_code(response) == "missing_api_key"
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize("raw", ["nonsense", "abc.def", "0123456789ab." + "x" * 10])
def test_a_malformed_key_is_401_malformed(raw: str, client_for: Any, redis_clean: Any) -> None:
    response = client_for(raw).get(KEYS_URL)
    assert response.status_code == 401
    assert _error_code(response) == "malformed_api_key"


def test_an_unknown_prefix_is_401_unknown(client_for: Any, redis_clean: Any) -> None:
    response = client_for("0123456789ab." + "A" * 43).get(KEYS_URL)
    assert response.status_code == 401
    assert _error_code(response) == "unknown_api_key"


def test_a_known_prefix_with_a_wrong_secret_is_401_unknown(raw_key: str, client_for: Any) -> None:
    prefix = raw_key.split(".")[0]
    response = client_for(f"{prefix}." + "B" * 43).get(KEYS_URL)
    assert response.status_code == 401
    assert _error_code(response) == "unknown_api_key"


def test_revocation_takes_effect_on_the_very_next_request(api: APIClient) -> None:
    assert api.get(KEYS_URL).status_code == 200
    ApiKey.objects.update(revoked_at=timezone.now())
    response = api.get(KEYS_URL)
    assert response.status_code == 401
    assert _error_code(response) == "revoked_api_key"


def test_expiry_takes_effect_on_the_very_next_request(api: APIClient) -> None:
    ApiKey.objects.update(expires_at=timezone.now() + timedelta(seconds=30))
    assert api.get(KEYS_URL).status_code == 200
    ApiKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.get(KEYS_URL)
    assert response.status_code == 401
    assert _error_code(response) == "expired_api_key"


def test_a_deactivated_owner_is_locked_out(api: APIClient, owner: Any) -> None:
    owner.is_active = False
    owner.save()
    response = api.get(KEYS_URL)
    assert response.status_code == 401
    assert _error_code(response) == "inactive_owner"


def test_authentication_costs_one_query_once_last_used_is_fresh(api: APIClient) -> None:
    api.get(KEYS_URL)  # stamps last_used_at
    with CaptureQueriesContext(connection) as queries:
        response = api.get(KEYS_URL)
    assert response.status_code == 200
    # One query authenticates (key + owner joined); the other is the list the view returns.
    auth_queries = [q for q in queries.captured_queries if "accounts_apikey" in q["sql"]]
    assert len(queries.captured_queries) == 2
    assert "JOIN" in auth_queries[0]["sql"]


def test_last_used_is_stamped_at_most_once_a_minute(api: APIClient) -> None:
    api.get(KEYS_URL)
    first = ApiKey.objects.get().last_used_at
    assert first is not None
    api.get(KEYS_URL)
    assert ApiKey.objects.get().last_used_at == first
    ApiKey.objects.update(last_used_at=first - timedelta(minutes=2))
    api.get(KEYS_URL)
    assert ApiKey.objects.get().last_used_at > first
