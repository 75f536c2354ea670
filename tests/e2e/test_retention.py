"""Retention (issue 14): a finished job's status and counters are copied to PostgreSQL, its
Redis keys expire and its DynamoDB item and shards get a TTL. With the Redis keys and the
DynamoDB item gone, every read answers as before."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.test import APIClient

from isidorus import job_state
from isidorus.integrations.aws import dynamodb_client
from isidorus.integrations.job_counters import counter_shard_id
from isidorus.integrations.job_table import TTL_ATTRIBUTE, job_item_delete, job_item_get
from isidorus.integrations.redis_client import get_redis
from isidorus.maintenance import reap_stalled_jobs
from isidorus.scrapings.models import Page, Scraping
from isidorus.scrapings.retention import jobs_archive_missed
from isidorus.scrapings.services.finish import job_fail_lost_state
from tests.e2e.crawling import wait_terminal
from tests.support.fixture_site import fixture_routes
from tests.support.site import FixtureSite
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
JOBS = "/api/v1/scrapings/"
DAY = 24 * 3600


def _wait_archived(job_id: str) -> Scraping:
    return wait_for(
        lambda: Scraping.objects.filter(pk=job_id, final_item__isnull=False).first(),
        timeout=30,
        message=f"job {job_id}'s terminal copy",
    )


@pytest.fixture
def finished_job(api: APIClient, start_worker: Any, redis_clean: Any) -> Iterator[str]:
    with FixtureSite(fixture_routes("http://127.0.0.1:9")) as site:
        start_worker(stages=["scraper", "writer"], name="retention", concurrency=2)
        started = api.post(JOBS, {"url": site.url("/"), "depth": 1}, format="json")
        assert started.status_code == 202, started.json()
        job_id = started.json()["id"]
        wait_terminal(job_id)
        _wait_archived(job_id)
        yield job_id


def _every_read(api: APIClient, job_id: str) -> dict[str, Any]:
    """Every read endpoint of the job (and the CLI's summary), as the user sees them."""
    home = Page.objects.get(scraping_id=job_id, depth=0)
    paths = [
        JOBS,
        f"{JOBS}{job_id}/",
        f"{JOBS}{job_id}/pages/?page_size=100",
        f"{JOBS}{job_id}/pages/{home.pk}/",
        f"{JOBS}{job_id}/terms/",
        f"{JOBS}{job_id}/links/?page_size=100",
        f"{JOBS}{job_id}/images/",
        f"{JOBS}{job_id}/webhook-deliveries/",
        f"/api/v1/search/?q=lighthouse&scraping={job_id}",
    ]
    reads: dict[str, Any] = {}
    for path in paths:
        response = api.get(path)
        assert response.status_code == 200, (path, response.content[:300])
        reads[path] = response.json()
    export = api.get(f"{JOBS}{job_id}/export/?format=jsonl")
    assert export.status_code == 200
    reads["export"] = b"".join(export.streaming_content).decode()
    summary = StringIO()
    call_command("job", job_id, "--json", stdout=summary)
    reads["cli"] = json.loads(summary.getvalue())
    return reads


def _raw_item(item_id: str) -> dict[str, Any]:
    key = {"scraping_id": {"S": item_id}}
    found = dynamodb_client().get_item(TableName=settings.JOBS_TABLE, Key=key, ConsistentRead=True)
    return dict(found.get("Item", {}))


def test_a_finished_job_reads_the_same_once_redis_and_dynamodb_let_it_go(
    api: APIClient, finished_job: str
) -> None:
    job_id = finished_job
    row = Scraping.objects.get(pk=job_id)
    assert row.final_item == job_item_get(job_id)
    assert row.final_item["status"] == "COMPLETED_WITH_ERRORS"
    assert row.final_item["pages_fetched"] == 7

    # Redis: every key of the job expires within the retention.
    keys = job_state.job_keys(job_id)
    assert keys
    redis = get_redis()
    ttls = {key: redis.ttl(key) for key in keys}
    assert all(0 < ttl <= settings.JOB_STATE_RETENTION_SECONDS for ttl in ttls.values()), ttls

    # DynamoDB: the table's TTL is on; the item and each shard carry it, 30 days out.
    described = dynamodb_client().describe_time_to_live(TableName=settings.JOBS_TABLE)
    assert described["TimeToLiveDescription"]["AttributeName"] == TTL_ATTRIBUTE
    item = _raw_item(job_id)
    shards = int(item["counter_shards"]["N"])
    expected = time.time() + settings.JOB_ITEM_RETENTION_DAYS * DAY
    for raw in [item] + [_raw_item(counter_shard_id(job_id, shard)) for shard in range(shards)]:
        assert abs(int(raw[TTL_ATTRIBUTE]["N"]) - expected) < 300, raw.get("scraping_id")

    before = _every_read(api, job_id)
    # What expiry does, done now: the job's Redis keys and its DynamoDB item and shards go.
    job_state.delete_state(job_id)
    job_item_delete(job_id)
    assert job_item_get(job_id) is None
    assert job_state.job_keys(job_id) == []

    assert _every_read(api, job_id) == before
    # A late message of the finished job, and the reaper, find nothing to fail or redo.
    assert job_fail_lost_state(job_id) is False
    assert job_id not in reap_stalled_jobs()
    assert Scraping.objects.get(pk=job_id).status == "COMPLETED_WITH_ERRORS"


def test_a_cancelled_job_is_kept_and_a_missed_copy_is_made_by_the_reaper(
    api: APIClient, aws_resources: Any, redis_clean: Any
) -> None:
    # No worker runs: the job waits in the queue until it is cancelled.
    started = api.post(JOBS, {"url": "http://127.0.0.1:9/", "depth": 0}, format="json")
    job_id = started.json()["id"]
    assert api.post(f"{JOBS}{job_id}/cancel/").status_code == 200
    row = Scraping.objects.get(pk=job_id)
    assert row.final_item is not None
    assert row.final_item["status"] == "CANCELLED"
    assert all(get_redis().ttl(key) > 0 for key in job_state.job_keys(job_id))

    # A finisher that died before its copy: the reaper's sweep makes it.
    Scraping.objects.filter(pk=job_id).update(final_item=None)
    assert jobs_archive_missed() == {job_id: "archived"}
    assert Scraping.objects.get(pk=job_id).final_item == job_item_get(job_id)
    assert jobs_archive_missed() == {}
