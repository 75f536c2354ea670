"""Redis unreachable (limits and job state live there): every API route answers 503
`redis_unavailable` with Retry-After in the standard error shape, and the admin login the
same; never a 500. Redis here is a closed port on 127.0.0.1, so each call fails at once."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from config import api_urls
from isidorus.accounts.services import api_key_create
from isidorus.core.errors import DATABASE_RETRY_AFTER_SECONDS
from tests.support.api_routes import API_REQUESTS
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db


def _assert_unavailable(response: Any, request: str) -> None:
    assert response.status_code == 503, (request, response.status_code, response.content[:300])
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS), request
    body = response.json()["error"]
    assert (body["code"], set(body)) == ("redis_unavailable", {"code", "message", "fields"})


def test_while_redis_is_down_every_api_route_and_the_admin_login_answer_503(
    settings: Any, redis_clean: Any
) -> None:
    assert set(API_REQUESTS) == {pattern.name for pattern in api_urls.urlpatterns}
    owner = get_user_model().objects.create_superuser(username="redis-outage", password="pw")
    _, raw_key = api_key_create(owner=owner, name="outage")
    api = Client(HTTP_X_API_KEY=raw_key, raise_request_exception=False)
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"

    for requests in API_REQUESTS.values():
        for method, path in requests:
            body = "{}" if method == "post" else ""
            response = api.generic(
                method.upper(), f"/api/v1/{path}", body, content_type="application/json"
            )
            _assert_unavailable(response, f"{method.upper()} {path}")
    login = Client(raise_request_exception=False).post(
        "/admin/login/", {"username": "redis-outage", "password": "pw"}
    )
    _assert_unavailable(login, "POST /admin/login/")
