"""Helpers of the end-to-end crawl tests."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model

from isidorus.integrations.aws import s3_client
from isidorus.integrations.job_table import TERMINAL, job_item_get
from isidorus.scrapings.models import Image, Page
from isidorus.scrapings.services.start import StartRequest, scraping_start
from tests.support.gate import Gate
from tests.support.site import Route
from tests.support.waiting import wait_for
from tests.support.workers import WorkerProcess

# The worker environment of the enrichment tests (the `enrichment_on` fixture).
ENRICHMENT_ON = {"ISIDORUS_ENRICHMENT_ENABLED": "true", "ENRICHMENT_RETRY_BASE_SECONDS": "0.5"}


def crawl_owner(username: str = "crawler") -> Any:
    user_model = get_user_model()
    return user_model.objects.filter(username=username).first() or user_model.objects.create_user(
        username=username
    )


def start_crawl(url: str, **options: Any) -> str:
    job, _ = scraping_start(owner=crawl_owner(), request=StartRequest(url=url, **options))
    return str(job.pk)


def wait_terminal(job_id: str, timeout: float = 120) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        item = job_item_get(job_id)
        return item if item and item.get("status") in TERMINAL else None

    return wait_for(probe, timeout=timeout, interval=0.3, message=f"job {job_id} to finish")


def outcomes(job_id: str, origin: str) -> dict[str, tuple[str, str]]:
    """{path or full URL: (outcome, reason)} for every page row of the job."""
    rows = Page.objects.filter(scraping_id=job_id).values_list("url", "outcome", "reason")
    return {url.removeprefix(origin) or "/": (outcome, reason) for url, outcome, reason in rows}


def assert_completed_exactly(
    job_id: str,
    item: dict[str, Any],
    origin: str,
    expected: set[str],
    routes: dict[str, Route] | None = None,
) -> None:
    """The job completed with one fetched page row per path in `expected`, counters agreeing.

    Given the site's `routes` (every link on an expected page was followed), the duplicate
    counter is checked too: each path is admitted once, every other link to it is a duplicate.
    """
    assert item["status"] == "COMPLETED", item.get("status_reason")
    found = outcomes(job_id, origin)
    assert set(found) == expected
    assert all(outcome == ("fetched", "") for outcome in found.values())
    assert Page.objects.filter(scraping_id=job_id).count() == len(expected)
    assert item["pages_fetched"] == len(expected)
    if routes is not None:
        links = sum(str(routes[path].body).count("<a href=") for path in expected)
        assert item["skipped_duplicate"] == links - (len(expected) - 1)


def assert_images_stored_once(
    job_id: str, origin: str, image_pages: Counter[tuple[str, str]], images: dict[str, bytes]
) -> None:
    """One stored, described image row per (page path, image path) the site links, none twice,
    each row's S3 object holding exactly the bytes the site served."""
    rows = Image.objects.filter(scraping_id=job_id).select_related("page")
    found = Counter(
        (row.page.url.removeprefix(origin) or "/", row.url.removeprefix(origin)) for row in rows
    )
    assert found == image_pages
    for row in rows:
        data = images[row.url.removeprefix(origin)]
        assert (row.outcome, row.reason) == ("stored", ""), row.url
        assert row.s3_key == f"images/{hashlib.sha256(data).hexdigest()}.png"
        assert row.description
    for key in {row.s3_key for row in rows}:
        stored = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=key)["Body"].read()
        assert hashlib.sha256(stored).hexdigest() in key


def kill_while_held(worker: WorkerProcess, gate: Gate, timeout: float = 60) -> None:
    """SIGKILL `worker` while one of its requests waits at `gate`: surely in mid-task."""
    gate.close()
    try:
        wait_for(
            lambda: gate.held > 0,
            timeout=timeout, message=f"a request of {worker.name} to be held at the gate",
        )  # fmt: skip
        worker.kill()
    finally:
        gate.open()
