"""Issue 19's scenario: enrichment on, a documentation-shaped site whose pages share links,
and the scraper, writer and image-extractor process groups SIGKILLed twice mid-crawl (one
second down, then started again). The page summarizer is never killed. Every store must come
out exact: page rows, links, image rows and their S3 objects, summaries, the DynamoDB
counters, the batches' effects and the Redis work items.

`make test` runs one short run (CRASH_LOOP_PAGES pages, kills at CRASH_LOOP_KILL_AT, the
fractions of the pages written). `scripts/repeat_crash_tests.py --scenario enrichment` runs
it on 1,500 pages with kill points drawn at random for each run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from config.queues import IMAGE_EXTRACTOR, PAGE_SUMMARIZER, SCRAPER, WRITER
from isidorus import job_state
from isidorus.scrapings.models import Image, LinkCount, Page, WriteBatch
from tests.e2e.crawling import assert_images_stored_once, outcomes, start_crawl, wait_terminal
from tests.support.crash_site import CrashSite, crash_site
from tests.support.site import FixtureSite
from tests.support.workers import WorkerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES = int(os.environ.get("CRASH_LOOP_PAGES", "240"))
PAGE_DELAY = float(os.environ.get("CRASH_LOOP_PAGE_DELAY", "0.1"))
# Seconds after the crawl starts at which the killable workers are SIGKILLed.
KILL_AT = [float(part) for part in os.environ.get("CRASH_LOOP_KILL_AT", "1.5,6").split(",") if part]
KILLED_STAGES = {"scraper": [SCRAPER], "writer": [WRITER], "images": [IMAGE_EXTRACTOR]}


@pytest.fixture
def site() -> Iterator[tuple[CrashSite, FixtureSite]]:
    model = crash_site(PAGES, page_delay=PAGE_DELAY, image_delay=0.02)
    with FixtureSite(model.routes) as server:
        yield model, server


def _progress(job_id: str) -> str:
    pages = Page.objects.filter(scraping_id=job_id)
    summarised = pages.exclude(summary="").count()
    images = Image.objects.filter(scraping_id=job_id)
    done = images.exclude(outcome="").count()
    return f"{pages.count()} pages, {summarised} summaries, {done}/{images.count()} images"


def test_killing_scraper_writer_and_image_workers_twice_loses_no_enrichment(
    site: tuple[CrashSite, FixtureSite], start_worker: Any, enrichment_on: dict[str, str]
) -> None:
    model, server = site

    def start_killable() -> list[WorkerProcess]:
        launched = [
            start_worker(stages=stages, name=name, env=enrichment_on, wait=False)
            for name, stages in KILLED_STAGES.items()
        ]
        return [worker.wait_ready() for worker in launched]

    start_worker(stages=[PAGE_SUMMARIZER], name="summarizer", env=enrichment_on)
    killable = start_killable()
    job_id = start_crawl(server.url("/"), depth=model.depth + 1, max_pages=model.admitted + 10)
    started = time.monotonic()
    kills: list[str] = []
    for at in KILL_AT:
        time.sleep(max(0.0, started + at - time.monotonic()))
        for worker in killable:
            worker.kill()
        kills.append(f"{time.monotonic() - started:.1f}s ({_progress(job_id)})")
        time.sleep(1)
        killable = start_killable()
    item = wait_terminal(job_id, timeout=300)

    _assert_every_store_exact(job_id, item, model, server.origin)
    print(f"{model.admitted} pages, done in {time.monotonic() - started:.1f}s; kills at:")
    print("\n".join(kills))


def _assert_every_store_exact(
    job_id: str, item: dict[str, Any], model: CrashSite, origin: str
) -> None:
    assert item["status"] == "COMPLETED_WITH_ERRORS", item.get("status_reason")
    assert item["status_reason"] == f"{len(model.broken)} page(s) failed"
    expected = {path: ("fetched", "") for path in model.fetched}
    expected |= {path: ("failed", "http_4xx") for path in model.broken}
    assert outcomes(job_id, origin) == expected

    pages = Page.objects.filter(scraping_id=job_id)
    links = dict(pages.annotate(found=LinkCount()).values_list("url", "found"))
    assert {url.removeprefix(origin) or "/": n for url, n in links.items() if n} == {
        path: n for path, n in model.links_from.items() if n
    }
    unsummarised = pages.filter(outcome="fetched").filter(summary="")
    assert not unsummarised.exists(), f"{unsummarised.count()} fetched pages without a summary"
    assert not pages.exclude(summary_error="").exists()

    # no image row lost, none twice
    assert_images_stored_once(job_id, origin, model.image_pages, model.images)

    images = sum(model.image_pages.values())
    counted = {
        name: value
        for name, value in item.items()
        if name.startswith(("pages_", "skipped_", "failed_", "links", "images", "summaries"))
    }
    assert counted == {
        "pages_fetched": len(model.fetched),
        "failed_http_4xx": len(model.broken),
        "pages_failed": len(model.broken),
        "links": model.links,
        "skipped_duplicate": model.links - (model.admitted - 1),
        "images": images,
        "images_stored": images,
        "summaries": len(model.fetched),
    }
    assert not WriteBatch.objects.filter(scraping_id=job_id, effects_done=False).exists()
    assert job_state.open_count(job_id) == 0
