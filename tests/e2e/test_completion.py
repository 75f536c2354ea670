"""Exact completion: budgets under racing workers, duplicate delivery, poison, the reaper,
and a scraper worker killed mid-crawl."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from config.queues import SCRAPER
from isidorus.integrations.job_table import job_item_get
from isidorus.maintenance import drain_dead_letters, reap_stalled_jobs
from isidorus.scrapings.models import Page
from tests.e2e.crawling import assert_completed_exactly, outcomes, start_crawl, wait_terminal
from tests.support.fixture_site import fixture_routes
from tests.support.generated_site import generated_routes, reachable_within
from tests.support.redelivery import FAST_REDELIVERY_ENV, fast_redelivery
from tests.support.site import FixtureSite
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _fetched_paths(site: FixtureSite) -> list[str]:
    return site.page_paths()


@pytest.fixture
def big_site() -> Iterator[FixtureSite]:
    with FixtureSite(generated_routes(150, links_per_page=8)) as site:
        yield site


def test_max_pages_is_exact_with_several_workers(
    big_site: FixtureSite, start_worker: Any, redis_clean: Any
) -> None:
    start_worker(stages=["scraper"], name="scraper-a", concurrency=2)
    start_worker(stages=["scraper"], name="scraper-b", concurrency=2)
    start_worker(stages=["writer"], name="writer", concurrency=2)
    job_id = start_crawl(big_site.url("/"), depth=10, max_pages=37)
    item = wait_terminal(job_id)
    assert item["status"] == "COMPLETED"
    charged = Page.objects.filter(scraping_id=job_id).exclude(outcome="skipped")
    assert charged.count() == 37
    assert len(_fetched_paths(big_site)) == 37
    assert len(set(_fetched_paths(big_site))) == 37
    assert Page.objects.filter(scraping_id=job_id, reason="limit_reached").count() > 0
    assert item["pages_fetched"] == 37


def _crawl_summary(job_id: str, origin: str) -> tuple[dict[str, tuple[str, str]], dict[str, Any]]:
    item = job_item_get(job_id) or {}
    counters = {
        k: v
        for k, v in item.items()
        if k.startswith(("pages_", "skipped_", "failed_", "links", "images"))
    }
    return outcomes(job_id, origin), counters


def test_every_message_delivered_twice_gives_the_same_results(
    start_worker: Any, redis_clean: Any
) -> None:
    with FixtureSite(fixture_routes("http://127.0.0.1:9")) as site:
        start_worker(stages=["scraper", "writer"], name="clean", concurrency=2)
        clean_job = start_crawl(site.url("/"), depth=2)
        wait_terminal(clean_job)
        clean = _crawl_summary(clean_job, site.origin)

    with (
        FixtureSite(fixture_routes("http://127.0.0.1:9")) as site,
        override_settings(ISIDORUS_DUPLICATE_PUBLISHES=True),
    ):
        start_worker(
            stages=["scraper", "writer"], name="twice", concurrency=2,
            env={"ISIDORUS_DUPLICATE_PUBLISHES": "true"},
        )  # fmt: skip
        twice_job = start_crawl(site.url("/"), depth=2)
        wait_terminal(twice_job)
        twice = _crawl_summary(twice_job, site.origin)

    assert twice[0] == clean[0]
    assert twice[1] == clean[1]


def test_a_poison_url_is_recorded_as_failed_and_the_job_still_ends(
    start_worker: Any, redis_clean: Any
) -> None:
    with FixtureSite(fixture_routes("http://127.0.0.1:9")) as site:
        start_worker(
            stages=["scraper", "writer"], name="poisoned", concurrency=2,
            env={"ISIDORUS_FAULT_SCRAPE_URL_REGEX": "/a\\.html$", **FAST_REDELIVERY_ENV},
        )  # fmt: skip

        def drained() -> bool:
            drain_dead_letters()
            return Page.objects.filter(scraping_id=job_id, url=site.url("/a.html")).exists()

        with fast_redelivery(SCRAPER):
            job_id = start_crawl(site.url("/"), depth=1)
            wait_for(drained, timeout=180, interval=2.0, message="the poison URL to be drained")
        item = wait_terminal(job_id, timeout=60)
        found = outcomes(job_id, site.origin)
    assert found["/a.html"] == ("failed", "poison")
    assert found["/b.html"] == ("fetched", "")
    assert item["status"] == "COMPLETED_WITH_ERRORS"
    assert item["failed_poison"] == 1


def test_the_reaper_fails_a_job_whose_workers_are_gone(
    aws_resources: Any, redis_clean: Any
) -> None:
    with FixtureSite(fixture_routes("http://127.0.0.1:9")) as site:
        job_id = start_crawl(site.url("/"), depth=1)  # no worker is running
        time.sleep(1.2)
        assert reap_stalled_jobs(stall_seconds=1).get(job_id) == "republished"
        time.sleep(1.2)
        assert reap_stalled_jobs(stall_seconds=1).get(job_id) == "failed"
    item = wait_terminal(job_id, timeout=10)
    assert item["status"] == "FAILED"
    assert site.url("/") in item["status_reason"]


# The stage whose worker is killed, the other stage, and each stage's concurrency.
CONCURRENCY = {"scraper": 2, "writer": 1}
KILLED_STAGES = [
    pytest.param("scraper", "writer", 0.15, id="scraper"),
    pytest.param("writer", "scraper", 0.1, id="writer"),
]


@pytest.mark.parametrize(("killed", "other", "page_delay"), KILLED_STAGES)
def test_a_worker_killed_mid_crawl_loses_and_duplicates_nothing(
    killed: str, other: str, page_delay: float, start_worker: Any, redis_clean: Any
) -> None:
    routes = generated_routes(60, links_per_page=4, delay=page_delay)
    expected = reachable_within(routes, 6)
    with FixtureSite(routes) as site:
        start_worker(stages=[other], name=other, concurrency=CONCURRENCY[other])
        doomed = start_worker(
            stages=[killed], name=f"doomed-{killed}", concurrency=CONCURRENCY[killed]
        )
        job_id = start_crawl(site.url("/"), depth=6)
        wait_for(
            lambda: Page.objects.filter(scraping_id=job_id).count() >= 5,
            timeout=60, message="some pages written before the kill",
        )  # fmt: skip
        doomed.kill()
        start_worker(stages=[killed], name=f"survivor-{killed}", concurrency=CONCURRENCY[killed])
        item = wait_terminal(job_id, timeout=180)
    assert_completed_exactly(job_id, item, site.origin, expected)
