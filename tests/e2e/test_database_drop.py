"""A PostgreSQL connection dropped in the middle of a write: the writer retries the batch at
once on a new connection, and the job completes with every page written exactly once.

The drop is real: the test holds a lock so the writer's INSERT waits, then has the server
terminate that backend (pg_terminate_backend) while the statement is in flight.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from config.queues import SCRAPER, WRITER
from isidorus.scrapings.models import Page
from tests.e2e.crawling import assert_completed_exactly, start_crawl, wait_terminal
from tests.support.database import table_locked
from tests.support.generated_site import generated_routes, reachable_within
from tests.support.site import FixtureSite
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGE_INSERT = "INSERT INTO scrapings_page "
LOG_TIME = r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO celery\.app\.trace Task isidorus\.write"


def _retry_delay(log_path: Path) -> float:
    """Seconds from the writer's retry of a batch to the success of that same task id.

    The retried batch may be the one that finishes the job: its "succeeded" line is then
    written just after the job turns terminal, so it is waited for (seen once in 16 runs).
    """
    log = log_path.read_text(errors="replace")
    retried = re.search(LOG_TIME + r"\[([0-9a-f-]+)\] retry: ", log, re.MULTILINE)
    assert retried, "the writer never retried"
    pattern = re.compile(LOG_TIME + rf"\[{re.escape(retried[2])}\] succeeded", re.MULTILINE)
    succeeded = wait_for(
        lambda: pattern.search(log_path.read_text(errors="replace")),
        timeout=10, message="the retried batch's success in the writer's log",
    )  # fmt: skip
    times = [datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f") for m in (retried, succeeded)]
    return (times[1] - times[0]).total_seconds()


def test_a_connection_dropped_mid_write_is_retried_and_writes_each_page_once(
    start_worker: Any, redis_clean: Any
) -> None:
    routes = generated_routes(60, links_per_page=4, delay=0.1)
    expected = reachable_within(routes, 6)
    with FixtureSite(routes) as site:
        start_worker(stages=[SCRAPER], name="scraper", concurrency=2)
        writer = start_worker(stages=[WRITER], name="writer", concurrency=1)
        job_id = start_crawl(site.url("/"), depth=6)
        wait_for(
            lambda: Page.objects.filter(scraping_id=job_id).count() >= 5,
            timeout=60, message="some pages written before the drop",
        )  # fmt: skip
        with table_locked("scrapings_page") as lock:
            blocked = wait_for(
                lambda: lock.blocked_backends(PAGE_INSERT),
                timeout=60, message="the writer's INSERT to wait on the lock",
            )  # fmt: skip
            assert len(blocked) == 1  # one writer process
            written_before = Page.objects.filter(scraping_id=job_id).count()
            assert lock.terminate(blocked[0])
            wait_for(
                lambda: not lock.backend_alive(blocked[0]),
                timeout=10, message="the backend to be gone",
            )  # fmt: skip
        item = wait_terminal(job_id, timeout=120)

    assert_completed_exactly(job_id, item, site.origin, expected, routes)
    assert written_before < len(expected)  # the dropped batch was among those left to write
    # The writer survived the drop and retried the batch itself after a short SQS delay,
    # instead of letting the message wait out its visibility timeout.
    assert writer.alive()
    log = writer.log_path.read_text(errors="replace")
    assert "terminating connection due to administrator command" in log
    assert "database connection lost" in log
    assert _retry_delay(writer.log_path) < settings.SQS_VISIBILITY_TIMEOUT / 2
