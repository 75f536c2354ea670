"""Fairness between jobs on the shared queues (docs/fairness.md): a small job started
while a big one is mid-crawl finishes long before it, both exactly. Without pacing, the
small job's first batch would wait behind the big job's whole frontier in the scrape
queue and finish about when the big job does."""

from __future__ import annotations

import time
from typing import Any

import pytest

from config.queues import SCRAPER, WRITER
from isidorus import job_state
from isidorus.scrapings.models import Page
from tests.e2e.crawling import assert_completed_exactly, start_crawl, wait_terminal
from tests.support.generated_site import generated_routes, reachable_within
from tests.support.site import FixtureSite
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BIG_PAGES, BIG_DEPTH = 1200, 12
SMALL_PAGES, SMALL_DEPTH = 15, 4
# Small batches make many messages of the big job's frontier, as 64-URL batches do on a
# 20,000-page site (bench/fairness_bench.py measures that).
WORKER_ENV = {"CRAWL_BATCH_SIZE": "8", "CRAWL_BATCH_GROWTH": "1", "CRAWL_FETCH_THREADS": "4"}


def test_a_small_job_is_not_starved_by_a_big_one_and_both_complete_exactly(
    start_worker: Any, redis_clean: Any
) -> None:
    big_routes = generated_routes(BIG_PAGES, links_per_page=6, delay=0.01)
    small_routes = generated_routes(SMALL_PAGES, links_per_page=3)
    big_expected = reachable_within(big_routes, BIG_DEPTH)
    small_expected = reachable_within(small_routes, SMALL_DEPTH)
    with FixtureSite(big_routes) as big_site, FixtureSite(small_routes) as small_site:
        start_worker(stages=[SCRAPER, WRITER], name="fair", env=WORKER_ENV)
        big = start_crawl(big_site.url("/"), depth=BIG_DEPTH, max_pages=BIG_PAGES)
        wait_for(
            lambda: Page.objects.filter(scraping_id=big).count() >= 60,
            timeout=60, message="the big job to be well under way",
        )  # fmt: skip
        held_back = job_state.held_counts(SCRAPER, [big])[big]
        started = time.monotonic()
        small = start_crawl(small_site.url("/"), depth=SMALL_DEPTH)
        small_item = wait_terminal(small, timeout=120)
        small_seconds = time.monotonic() - started
        big_written = Page.objects.filter(scraping_id=big).count()
        big_item = wait_terminal(big, timeout=240)

    assert_completed_exactly(small, small_item, small_site.origin, small_expected, small_routes)
    assert_completed_exactly(big, big_item, big_site.origin, big_expected, big_routes)
    # The small job did not wait for the big one's frontier: when it was done, most of the
    # big job was still to be written.
    assert big_written < len(big_expected) / 2, (small_seconds, big_written)
    assert held_back > 0  # the big job's frontier was held back in Redis, out of the queue
