"""LocalStack restarted in the middle of a crawl. Its community edition keeps no state:
the queues, the messages in them and the staged batches in S3 are gone, and the job's open
work in Redis waits for messages that will never come.

The job must end within a bounded time (never hang), FAILED with a reason naming the lost
store, or COMPLETED with the exact page set and counters (never short). The reaper's store
check (isidorus/scrapings/services/store_loss.py) sees the queues and the bucket created
after the job started and fails it at its next pass. The same worker then runs a new
crawl to the end once the operator has bootstrapped the stores again: it outlives the
outage and polls the new queues by itself.

The LocalStack is the test's own (the shared one serves other test runs); its SQS and S3
endpoints are pointed at in this process (settings, and Celery's producer pool, built from
the broker URL once) and in the workers (AWS_ENDPOINT_URL). DynamoDB stays on moto.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from kombu import pools as kombu_pools

from config.celery import _broker_url, app
from config.queues import SCRAPER, WRITER
from isidorus.integrations.bootstrap import aws_bootstrap
from isidorus.maintenance import reap_stalled_jobs
from isidorus.scrapings.models import Page
from tests.e2e.crawling import assert_completed_exactly, start_crawl, wait_terminal
from tests.support.generated_site import generated_routes, reachable_within
from tests.support.localstack_server import OwnLocalStack
from tests.support.site import FixtureSite
from tests.support.waiting import wait_for
from tests.support.workers import LOG_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DEPTH = 6
# Each link level takes at least one page delay, so six levels outlast the restart.
PAGE_DELAY = 2.0
# The reaper runs every REAPER_INTERVAL_SECONDS under beat; the test drives it directly.
REAPER_PASS_SECONDS = 1.0
TERMINAL_WITHIN_SECONDS = 60.0


def _reset_celery_producers() -> None:
    # kombu keeps every connection pool in a process-wide registry keyed by the broker URL,
    # and app.pool looks it up there again: closing one pool without clearing the registry
    # would hand every later test in this process the closed pool ("Acquire on closed pool").
    kombu_pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def _aws_at(endpoint: str) -> Iterator[None]:
    """SQS and S3 of this process at `endpoint`: boto3 clients and Celery's publisher."""
    previous = app.conf.broker_url
    endpoints = {**settings.AWS_ENDPOINTS, "sqs": endpoint, "s3": endpoint}
    with override_settings(AWS_ENDPOINTS=endpoints):
        app.conf.broker_url = _broker_url(endpoint)[0]
        _reset_celery_producers()
        try:
            yield
        finally:
            app.conf.broker_url = previous
            _reset_celery_producers()


@pytest.fixture
def own_localstack() -> Iterator[OwnLocalStack]:
    localstack = OwnLocalStack(LOG_DIR / f"localstack-{time.monotonic_ns()}.log")
    try:
        yield localstack.start()
    finally:
        localstack.stop()
        localstack.remove_files()


def _reap_until_terminal(job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + TERMINAL_WITHIN_SECONDS
    while True:
        reap_stalled_jobs()
        with contextlib.suppress(TimeoutError):
            return wait_terminal(job_id, timeout=REAPER_PASS_SECONDS)
        assert time.monotonic() < deadline, f"job {job_id} still running after the restart"


def test_a_localstack_restart_mid_crawl_fails_the_job_naming_the_lost_store(
    own_localstack: OwnLocalStack, start_worker: Any, redis_clean: Any
) -> None:
    routes = generated_routes(150, links_per_page=4, delay=PAGE_DELAY)
    with _aws_at(own_localstack.url), FixtureSite(routes) as site:
        aws_bootstrap()
        env = {"AWS_ENDPOINT_URL": own_localstack.url}
        worker = start_worker(stages=[SCRAPER, WRITER], name="localstack-restart", env=env)
        started = time.monotonic()
        job_id = start_crawl(site.url("/"), depth=DEPTH)
        wait_for(
            lambda: Page.objects.filter(scraping_id=job_id).count() >= 5,
            timeout=60, message="pages written before the restart",
        )  # fmt: skip
        # Older than the check's clock-skew allowance, so the loss is attributable to it.
        time.sleep(max(0.0, settings.STORE_LOSS_SKEW_SECONDS + 1 - (time.monotonic() - started)))
        own_localstack.kill()
        written_before = Page.objects.filter(scraping_id=job_id).count()
        own_localstack.start()
        aws_bootstrap()  # the operator's `manage.py bootstrap_aws`
        item = _reap_until_terminal(job_id)

        assert written_before < len(reachable_within(routes, DEPTH))  # it was mid-crawl
        if item["status"] == "COMPLETED":
            expected = reachable_within(routes, DEPTH)
            assert_completed_exactly(job_id, item, site.origin, expected, routes)
        else:
            assert item["status"] == "FAILED"
            reason = item["status_reason"]
            assert reason.startswith("sqs_lost: queues ")
            assert "recreated after the job started" in reason
            assert f"s3_lost: bucket {settings.S3_BUCKET} recreated" in reason

        # The same worker, still running, serves a new (shallower) crawl on the new queues
        # to the exact end (config/sqs_transport.py).
        assert worker.alive()
        again = start_crawl(site.url("/"), depth=2)
        item = wait_terminal(again, timeout=60)
        # Links on the last level are not followed, so the duplicate count is not checked.
        assert_completed_exactly(again, item, site.origin, reachable_within(routes, 2))
