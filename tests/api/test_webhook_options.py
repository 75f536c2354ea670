"""The webhook secret API and the `webhook` start option (in process)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from isidorus.accounts.models import WebhookSecret

pytestmark = pytest.mark.django_db
SECRET_URL = "/api/v1/webhook-secret/"


def test_the_secret_is_shown_once_and_rotation_keeps_the_old_one_signing(api: APIClient) -> None:
    assert api.get(SECRET_URL).json() == {
        "exists": False,
        "created_at": None,
        "previous_valid_until": None,
    }
    first = api.post(SECRET_URL).json()
    assert len(first["secret"]) == 64
    assert first["previous_valid_until"] is None
    state = api.get(SECRET_URL).json()
    assert state["exists"] is True
    assert "secret" not in state
    second = api.post(SECRET_URL).json()
    assert second["secret"] != first["secret"]
    assert second["previous_valid_until"] is not None
    stored = WebhookSecret.objects.get()
    assert stored.signing_secrets() == [second["secret"], first["secret"]]


def _start(api: APIClient, webhook: Any) -> Any:
    body = {"url": "http://127.0.0.1:9/", "webhook": webhook}
    return api.post("/api/v1/scrapings/", body, format="json")


def test_a_webhook_needs_a_secret_first(api: APIClient, aws_resources: Any) -> None:
    response = _start(api, {"url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 400
    assert "webhook-secret" in response.json()["error"]["fields"]["webhook"][0]


@pytest.mark.parametrize(
    ("webhook", "field"),
    [
        ({"url": "http://169.254.169.254/latest"}, "url"),
        ({"url": "ftp://127.0.0.1/hook"}, "url"),
        ({"url": "http://127.0.0.1:9/hook", "events": ["job.exploded"]}, "events"),
        ({"url": "http://127.0.0.1:9/hook", "events": []}, "events"),
        ({"url": "http://127.0.0.1:9/hook", "progress_seconds": 0}, "progress_seconds"),
    ],
)
def test_a_bad_webhook_option_is_400(
    api: APIClient, webhook: dict[str, Any], field: str, aws_resources: Any
) -> None:
    api.post(SECRET_URL)
    response = _start(api, webhook)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]["webhook"]


def test_the_job_shows_its_webhook_and_its_deliveries_are_its_owners_only(
    api: APIClient,
    client_for: Callable[[str], APIClient],
    make_user: Callable[..., Any],
    aws_resources: Any,
) -> None:
    from isidorus.accounts.services import api_key_create

    api.post(SECRET_URL)
    started = _start(api, {"url": "http://127.0.0.1:9/hook"})
    assert started.status_code == 202, started.json()
    job = started.json()
    assert job["webhook"] == {
        "url": "http://127.0.0.1:9/hook",
        "events": ["job.started", "job.completed", "job.failed", "job.cancelled"],
        "progress_seconds": None,
    }
    deliveries = f"/api/v1/scrapings/{job['id']}/webhook-deliveries/"
    assert api.get(deliveries).json()["results"] == []
    _, other_key = api_key_create(owner=make_user("mallory"), name="other")
    assert client_for(other_key).get(deliveries).status_code == 404
