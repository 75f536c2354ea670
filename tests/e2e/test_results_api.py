"""The read API against a real crawl of the fixture site (workers, LocalStack, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.e2e.crawling import wait_terminal
from tests.support.fixture_site import fixture_routes
from tests.support.site import FixtureSite

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
JOBS = "/api/v1/scrapings/"


@pytest.fixture
def crawled(
    api: APIClient, start_worker: Any, redis_clean: Any
) -> Iterator[tuple[str, FixtureSite]]:
    with FixtureSite(fixture_routes("http://127.0.0.1:9")) as site:
        start_worker(stages=["scraper", "writer"], name="api-e2e", concurrency=2)
        started = api.post(JOBS, {"url": site.url("/"), "depth": 1}, format="json")
        assert started.status_code == 202, started.json()
        job_id = started.json()["id"]
        wait_terminal(job_id)
        yield job_id, site


def test_every_read_endpoint_after_a_real_crawl(
    api: APIClient, crawled: tuple[str, FixtureSite]
) -> None:
    job_id, site = crawled
    detail = api.get(f"{JOBS}{job_id}/").json()
    assert detail["status"] == "COMPLETED_WITH_ERRORS"
    assert detail["counters"]["fetched"] == 7
    assert detail["counters"]["failed_by_reason"] == {
        "http_4xx": 1,
        "http_5xx": 1,
        "redirect_loop": 1,
    }
    assert detail["finished_at"].endswith("Z") or "+00:00" in detail["finished_at"]

    pages = api.get(f"{JOBS}{job_id}/pages/?page_size=100").json()["results"]
    by_url = {page["url"]: page for page in pages}
    assert by_url[site.url("/missing")]["status_code"] == 404
    assert by_url[site.url("/private/secret.html")]["reason"] == "robots_disallowed"
    failed = api.get(f"{JOBS}{job_id}/pages/?outcome=failed").json()["results"]
    assert {page["reason"] for page in failed} == {"http_4xx", "http_5xx", "redirect_loop"}

    home = by_url[site.url("/")]
    home_detail = api.get(f"{JOBS}{job_id}/pages/{home['id']}/").json()
    assert "Lighthouse keepers keep the lighthouse." in home_detail["text"]
    assert {"term": "lighthouse", "count": 2} in [
        {"term": t["term"], "count": t["count"]} for t in home_detail["terms"]
    ]
    assert any(link["target_url"] == site.url("/a.html") for link in home_detail["links"])

    terms = api.get(f"{JOBS}{job_id}/terms/?prefix=light").json()["results"]
    assert terms[0]["term"] == "lighthouse"
    links = api.get(f"{JOBS}{job_id}/links/?internal=false").json()["results"]
    assert [link["target_url"] for link in links] == ["http://127.0.0.1:9/outside.html"]
    assert api.get(f"{JOBS}{job_id}/images/").json()["results"] == []

    found = api.get("/api/v1/search/", {"q": "lighthouse keepers", "scraping": job_id}).json()
    assert found["results"][0]["page"]["url"] == site.url("/")
    assert "<mark>" in found["results"][0]["snippet"]
