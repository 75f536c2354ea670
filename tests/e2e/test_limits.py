"""Per-owner limits that only a real crawl can show."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from isidorus.accounts.services import api_key_create
from isidorus.scrapings.models import Page
from tests.e2e.crawling import crawl_owner, start_crawl, wait_terminal
from tests.support.generated_site import generated_routes
from tests.support.site import FixtureSite

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
QUOTA = 6


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    with FixtureSite(generated_routes(40, links_per_page=5)) as served:
        yield served


@override_settings(ISIDORUS_DAILY_PAGE_QUOTA=QUOTA)
def test_the_daily_page_quota_stops_a_crawl_with_a_clear_reason(
    site: FixtureSite, start_worker: Any, redis_clean: Any
) -> None:
    start_worker(
        stages=["scraper", "writer"], name="quota", env={"ISIDORUS_DAILY_PAGE_QUOTA": str(QUOTA)}
    )
    job_id = start_crawl(site.url("/"), depth=5, max_pages=100)
    item = wait_terminal(job_id)
    assert item["status"] == "COMPLETED_WITH_ERRORS"
    assert item["status_reason"] == "stopped at the owner's daily page quota"
    assert Page.objects.filter(scraping_id=job_id).exclude(outcome="skipped").count() == QUOTA
    assert Page.objects.filter(scraping_id=job_id, reason="quota_exceeded").exists()
    assert len(site.page_paths()) == QUOTA

    _, raw = api_key_create(owner=crawl_owner(), name="after-quota")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    refused = client.post("/api/v1/scrapings/", {"url": site.url("/")}, format="json")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "daily_page_quota_exhausted"
    assert int(refused["Retry-After"]) > 0
