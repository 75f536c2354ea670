"""Issue 16: staged batches deleted or corrupted in S3 in the middle of a crawl.

The scraper runs alone first, so every batch it stages waits in S3 for the writer; the test
then deletes or corrupts some of them and starts the writer. An unreadable batch is never
counted as written: it is read again, then its URLs are scraped again once (exact result);
if the re-scraped batch is lost as well, its pages are recorded as `failed/staging_lost`
and the job ends COMPLETED_WITH_ERRORS, never COMPLETED with pages missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from isidorus.integrations.aws import s3_client
from isidorus.scrapings.models import Page
from isidorus.scrapings.staging import stage_get
from tests.e2e.crawling import outcomes, start_crawl, wait_terminal
from tests.support.gate import Gate
from tests.support.generated_site import generated_routes, reachable_within
from tests.support.site import FixtureSite, Route
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES, DEPTH = 30, 4


def _staged(job_id: str) -> list[str]:
    listed = s3_client().list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=f"staging/{job_id}/")
    return sorted(item["Key"] for item in listed.get("Contents", []))


def _all_staged(job_id: str) -> list[str]:
    """Wait until the scraper (with no writer running) has staged everything it will."""
    seen: list[list[str]] = []

    def settled() -> list[str] | None:
        seen.append(_staged(job_id))
        stable = len(seen) >= 8 and len(seen[-1]) >= 3 and seen[-1] == seen[-8]
        return seen[-1] if stable else None

    return wait_for(settled, timeout=90, interval=0.25, message="the scraper's batches")


def _not_the_start_page(key: str) -> bool:
    return all(page["depth"] > 0 for page in stage_get(key)["pages"])


@pytest.fixture
def site() -> Iterator[tuple[FixtureSite, set[str]]]:
    routes = generated_routes(PAGES, links_per_page=3, delay=0.01)
    with FixtureSite(routes) as served:
        yield served, reachable_within(routes, DEPTH)


def test_batches_deleted_and_corrupted_mid_crawl_are_scraped_again_exactly(
    start_worker: Any, redis_clean: Any, site: tuple[FixtureSite, set[str]]
) -> None:
    served, expected = site
    start_worker(stages=["scraper"], name="scraper", concurrency=2)
    job_id = start_crawl(served.url("/"), depth=DEPTH)
    deleted, corrupted = _all_staged(job_id)[:2]
    lost_once = [
        page["url"].removeprefix(served.origin)
        for key in (deleted, corrupted)
        for page in stage_get(key)["pages"]
        if page["outcome"] == "fetched"
    ]
    s3 = s3_client()
    s3.delete_object(Bucket=settings.S3_BUCKET, Key=deleted)
    body = s3.get_object(Bucket=settings.S3_BUCKET, Key=corrupted)["Body"].read()
    s3.put_object(Bucket=settings.S3_BUCKET, Key=corrupted, Body=body[: len(body) // 2])
    start_worker(stages=["writer"], name="writer", concurrency=2)
    item = wait_terminal(job_id, timeout=120)
    found = outcomes(job_id, served.origin)
    assert item["status"] == "COMPLETED", item.get("status_reason")
    assert set(found) == expected
    assert set(found.values()) == {("fetched", "")}
    assert item["pages_fetched"] == len(expected)
    requested = served.requested_paths()
    assert lost_once
    assert all(requested.count(path) == 2 for path in lost_once)  # scraped again, once


def test_a_batch_lost_again_after_its_re_scrape_is_recorded_as_staging_lost(
    start_worker: Any, redis_clean: Any, site: tuple[FixtureSite, set[str]]
) -> None:
    served, expected = site
    start_worker(stages=["scraper"], name="scraper", concurrency=2)
    job_id = start_crawl(served.url("/"), depth=DEPTH)
    target = next(key for key in _all_staged(job_id) if _not_the_start_page(key))
    lost_urls = {page["url"] for page in stage_get(target)["pages"] if page["outcome"] == "fetched"}
    # The re-scrape's fetches wait at a gate, so no writer runs when its batch is staged.
    gate = Gate()
    for url in lost_urls:
        path = url.removeprefix(served.origin)
        served.routes[path] = Route(dynamic=gate.guard(lambda _, route=served.routes[path]: route))
    gate.close()
    s3_client().delete_object(Bucket=settings.S3_BUCKET, Key=target)
    writer = start_worker(stages=["writer"], name="writer", concurrency=2)
    try:
        wait_for(lambda: gate.held > 0, timeout=60, message="the lost batch's re-scrape")
        writer.stop()
    finally:
        gate.open()
    wait_for(lambda: target in _staged(job_id), timeout=60, message="the re-scraped batch")
    s3_client().delete_object(Bucket=settings.S3_BUCKET, Key=target)
    start_worker(stages=["writer"], name="second-writer", concurrency=2)
    item = wait_terminal(job_id, timeout=120)
    found = outcomes(job_id, served.origin)
    failed = Page.objects.filter(scraping_id=job_id, outcome="failed")
    assert item["status"] == "COMPLETED_WITH_ERRORS"
    assert item["status_reason"] == f"{len(lost_urls)} page(s) failed"
    assert set(found) == expected  # pages below the lost ones were still crawled
    assert set(failed.values_list("url", "reason")) == {(url, "staging_lost") for url in lost_urls}
    assert item["pages_failed"] == len(lost_urls)
    assert item["pages_fetched"] == len(expected) - len(lost_urls)
