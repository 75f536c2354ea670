"""A store frozen for 10 seconds under a running crawl (SIGSTOP, then SIGCONT): its
connections stay open and nothing answers, the way a stalled host or a long GC pause
looks to clients. The workers wait or retry, and the job completes exactly.

Each store is a server of the test's own (the shared ones serve other test runs).

What the pause does to the workers (test settings: 8 s soft, 9 s hard task limit): a task
that waits on the frozen store past its limit is killed and its message goes straight back
(task_reject_on_worker_lost). The frozen server still runs the requests it had received
once it resumes, so the first try's effects land next to the redelivery's. Only effects
keyed by the unit of work survive that: with plain counter ADDs in DynamoDB (no condition
on the batch id), the DynamoDB test ends COMPLETED_WITH_ERRORS, the audit having found the
counters doubled (checked by hand). A Redis close that decremented a counter, as the
original service's did, would likewise be applied twice and end the job short.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from config.queues import SCRAPER, WRITER
from isidorus.integrations.bootstrap import ensure_jobs_table
from isidorus.scrapings.models import Page
from tests.e2e.crawling import assert_completed_exactly, start_crawl, wait_terminal
from tests.support.generated_site import generated_routes, reachable_within
from tests.support.moto_server import OwnMoto
from tests.support.processes import stopped
from tests.support.redis_server import OwnRedis
from tests.support.site import FixtureSite
from tests.support.waiting import wait_for
from tests.support.workers import LOG_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAUSE_SECONDS = 10.0
DEPTH = 6


def _crawl_through_a_pause(pid: int, start_worker: Any, env: dict[str, str]) -> None:
    routes = generated_routes(100, links_per_page=4, delay=0.2)
    expected = reachable_within(routes, DEPTH)
    with FixtureSite(routes) as site:
        start_worker(stages=[SCRAPER, WRITER], name="paused-store", env=env)
        job_id = start_crawl(site.url("/"), depth=DEPTH)
        wait_for(
            lambda: Page.objects.filter(scraping_id=job_id).count() >= 5,
            timeout=60, message="pages written before the pause",
        )  # fmt: skip
        with stopped(pid):
            written_before = Page.objects.filter(scraping_id=job_id).count()
            time.sleep(PAUSE_SECONDS)
        item = wait_terminal(job_id, timeout=120)

    assert written_before < len(expected)  # the crawl was still going when the store froze
    assert_completed_exactly(job_id, item, site.origin, expected, routes)


@pytest.fixture
def own_moto() -> Iterator[OwnMoto]:
    moto = OwnMoto(LOG_DIR / f"moto-{time.monotonic_ns()}.log").start()
    try:
        yield moto
    finally:
        moto.stop()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    redis = OwnRedis(tmp_path, persistent=False).start()
    try:
        yield redis
    finally:
        redis.stop()


def test_a_dynamodb_paused_mid_crawl_still_completes_with_exact_counters(
    own_moto: OwnMoto, start_worker: Any, redis_clean: Any
) -> None:
    endpoints = {**settings.AWS_ENDPOINTS, "dynamodb": own_moto.url}
    with override_settings(AWS_ENDPOINTS=endpoints):
        ensure_jobs_table(settings.JOBS_TABLE)
        _crawl_through_a_pause(
            own_moto.pid, start_worker, {"AWS_ENDPOINT_URL_DYNAMODB": own_moto.url}
        )


def test_a_redis_paused_mid_crawl_still_completes_exactly(
    own_redis: OwnRedis, start_worker: Any, redis_clean: Any
) -> None:
    with override_settings(REDIS_URL=own_redis.url):
        _crawl_through_a_pause(own_redis.pid, start_worker, {"REDIS_URL": own_redis.url})
