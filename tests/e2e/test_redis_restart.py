"""Restarting Redis under a running crawl: the job completes correctly (Redis persists) or
fails with a clear reason (it does not); it never hangs and never completes short."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings

from isidorus.integrations.redis_client import get_redis
from isidorus.job_state import STATE_LOST_REASON
from isidorus.maintenance import reap_stalled_jobs
from isidorus.scrapings.models import Page
from tests.e2e.crawling import outcomes, start_crawl, wait_terminal
from tests.support.generated_site import generated_routes, reachable_within
from tests.support.redis_server import OwnRedis
from tests.support.site import FixtureSite
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _crawl_through_a_restart(
    redis: OwnRedis, start_worker: Any
) -> tuple[str, dict[str, tuple[str, str]], set[str], dict[str, Any]]:
    routes = generated_routes(50, links_per_page=4, delay=0.1)
    expected = reachable_within(routes, 5)
    with FixtureSite(routes) as site, override_settings(REDIS_URL=redis.url):
        start_worker(
            stages=["scraper", "writer"], name="redis-restart", env={"REDIS_URL": redis.url}
        )
        job_id = start_crawl(site.url("/"), depth=5)
        wait_for(
            lambda: Page.objects.filter(scraping_id=job_id).count() >= 5,
            timeout=60, message="pages written before the restart",
        )  # fmt: skip
        redis.restart()

        def finished() -> dict[str, Any] | None:
            reap_stalled_jobs(stall_seconds=30)
            try:
                return wait_terminal(job_id, timeout=2)
            except AssertionError:
                return None

        item = wait_for(finished, timeout=150, interval=1.0, message="the job to end")
        return job_id, outcomes(job_id, site.origin), expected, item


@pytest.fixture
def persistent_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    redis = OwnRedis(tmp_path, persistent=True).start()
    yield redis
    redis.stop()


@pytest.fixture
def volatile_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    redis = OwnRedis(tmp_path, persistent=False).start()
    yield redis
    redis.stop()


def test_a_persistent_redis_restart_still_completes_exactly(
    persistent_redis: OwnRedis, start_worker: Any, redis_clean: Any
) -> None:
    _, found, expected, item = _crawl_through_a_restart(persistent_redis, start_worker)
    assert item["status"] == "COMPLETED"
    assert set(found) == expected
    assert item["pages_fetched"] == len(expected)


def test_a_redis_that_lost_its_data_fails_the_job_with_a_reason(
    volatile_redis: OwnRedis, start_worker: Any, redis_clean: Any
) -> None:
    _, found, expected, item = _crawl_through_a_restart(volatile_redis, start_worker)
    assert item["status"] == "FAILED"
    assert item["status_reason"] == STATE_LOST_REASON
    assert set(found) <= expected
    get_redis()  # the suite's own Redis is untouched
