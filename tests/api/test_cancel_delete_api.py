from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from isidorus.accounts.services import api_key_create
from isidorus.scrapings.models import Page, Scraping

pytestmark = pytest.mark.django_db
JOBS = "/api/v1/scrapings/"


@pytest.fixture
def job(owner: Any, aws_resources: Any) -> Scraping:
    job = Scraping.objects.create(owner=owner, url="http://example.com/")
    Page.objects.create(
        scraping=job, url="http://example.com/", url_hash="a" * 40, outcome="fetched"
    )
    return job


def test_cancel_moves_the_job_to_cancelled_then_409(api: APIClient, job: Scraping) -> None:
    response = api.post(f"{JOBS}{job.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "CANCELLED"
    again = api.post(f"{JOBS}{job.pk}/cancel/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_finished"
    assert api.get(f"{JOBS}{job.pk}/pages/").json()["results"][0]["url"] == "http://example.com/"


def test_delete_answers_204_then_404_everywhere(api: APIClient, job: Scraping) -> None:
    assert api.delete(f"{JOBS}{job.pk}/").status_code == 204
    for suffix in ("", "pages/", "terms/", "links/", "images/", f"pages/{job.pk}/"):
        assert api.get(f"{JOBS}{job.pk}/{suffix}").status_code == 404, suffix
    assert api.post(f"{JOBS}{job.pk}/cancel/").status_code == 404
    assert api.delete(f"{JOBS}{job.pk}/").status_code == 404
    assert not Page.objects.filter(scraping_id=job.pk).exists()


def test_another_owner_cannot_cancel_or_delete(
    job: Scraping, make_user: Any, client_for: Any
) -> None:
    _, raw = api_key_create(owner=make_user("mallory"), name="theirs")
    other = client_for(raw)
    assert other.post(f"{JOBS}{job.pk}/cancel/").status_code == 404
    assert other.delete(f"{JOBS}{job.pk}/").status_code == 404
    assert Scraping.objects.get(pk=job.pk).status == "QUEUED"
