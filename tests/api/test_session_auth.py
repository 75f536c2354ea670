"""The dashboard's session on the API: the same endpoints, Django's CSRF check on unsafe
methods, a user's own jobs only; a staff member signed in by session reads every owner's
jobs, while the same member's API key still reads only their own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from isidorus.accounts.services import api_key_create
from isidorus.scrapings.models import Page, Scraping

pytestmark = pytest.mark.django_db
JOBS = "/api/v1/scrapings/"


def _session(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _listed_ids(client: Any) -> set[str]:
    response = client.get(JOBS)
    assert response.status_code == 200, response.content
    return {job["id"] for job in response.json()["results"]}


def test_a_signed_in_user_reads_their_own_jobs_and_posts_only_with_the_csrf_token(
    make_user: Callable[..., Any],
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    redis_clean: Any,
) -> None:
    alice_job = make_job()
    make_page(alice_job, "http://example.com/")
    bob = make_user("bob")
    bob_job = make_job(owner=bob)
    session = _session(alice_job.owner)

    assert _listed_ids(session) == {str(alice_job.pk)}
    assert session.get(f"{JOBS}{bob_job.pk}/").status_code == 404
    assert session.get(f"{JOBS}{alice_job.pk}/pages/").json()["results"][0]["url"]
    refused = session.post(JOBS, {"url": "http://127.0.0.1:9/"}, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert session.post(f"{JOBS}{bob_job.pk}/cancel/").status_code == 403

    session.get("/dashboard/")  # sets the CSRF cookie, as every dashboard page does
    token = session.cookies["csrftoken"].value
    accepted = session.post(
        f"{JOBS}{alice_job.pk}/cancel/", HTTP_X_CSRFTOKEN=token, content_type="application/json"
    )
    assert accepted.status_code in (200, 409), accepted.content  # checked, then handled


def test_staff_by_session_read_every_owner_but_their_api_key_reads_only_their_own(
    make_user: Callable[..., Any],
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    redis_clean: Any,
) -> None:
    alice_job = make_job()
    staff = make_user("operator", is_staff=True)
    staff_job = make_job(owner=staff)
    page = make_page(alice_job, "http://example.com/", title="Alice's page")

    session = _session(staff)
    assert _listed_ids(session) == {str(alice_job.pk), str(staff_job.pk)}
    assert session.get(f"{JOBS}{alice_job.pk}/").status_code == 200
    assert session.get(f"{JOBS}{alice_job.pk}/pages/{page.pk}/").json()["title"] == "Alice's page"

    _, raw = api_key_create(owner=staff, name="staff key")
    by_key = APIClient()
    by_key.credentials(HTTP_X_API_KEY=raw)
    assert _listed_ids(by_key) == {str(staff_job.pk)}
    assert by_key.get(f"{JOBS}{alice_job.pk}/").status_code == 404
    assert by_key.get(f"{JOBS}{alice_job.pk}/pages/{page.pk}/").status_code == 404
