"""Exactly-once counters on the DynamoDB job item (job_table.job_item_add_counters_once)."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings

from isidorus.integrations.aws import dynamodb_client
from isidorus.integrations.job_table import (
    applied_marker_key,
    job_item_add_counters_once,
    job_item_create,
    job_item_delete,
    job_item_get,
)


def _new_job() -> str:
    job_id = str(uuid.uuid4())
    job_item_create(
        job_id=job_id,
        owner_id=1,
        url="http://example.com/",
        depth=1,
        created_at="2030-01-01T00:00:00Z",
    )
    return job_id


def test_a_unit_counts_once_however_often_it_is_applied(aws_resources: Any) -> None:
    job_id = _new_job()
    assert job_item_add_counters_once(job_id, "batch-a", {"pages_fetched": 3, "links": 10})
    assert not job_item_add_counters_once(job_id, "batch-a", {"pages_fetched": 3, "links": 10})
    assert job_item_add_counters_once(job_id, "batch-b", {"pages_fetched": 2, "links": 0})
    item = job_item_get(job_id)
    assert item is not None
    assert (item["pages_fetched"], item["links"]) == (5, 10)


def test_the_job_item_does_not_grow_with_the_units_applied(aws_resources: Any) -> None:
    # Markers are items of their own: a job with a million batches, images and summaries
    # must stay far below DynamoDB's 400 KB item limit.
    job_id = _new_job()
    for unit in range(300):
        assert job_item_add_counters_once(job_id, f"image-{unit}", {"images_stored": 1})
    item = job_item_get(job_id)
    assert item is not None
    assert item["images_stored"] == 300
    assert set(item) == {
        "scraping_id", "owner_id", "url", "depth", "status", "created_at", "images_stored",
    }  # fmt: skip
    marker = dynamodb_client().get_item(
        TableName=settings.JOBS_TABLE, Key=applied_marker_key(job_id, "image-7")
    )["Item"]
    assert int(marker["expires_at"]["N"]) > 0


def test_counts_for_a_deleted_job_are_dropped(aws_resources: Any) -> None:
    job_id = _new_job()
    job_item_delete(job_id)
    assert not job_item_add_counters_once(job_id, "late-batch", {"pages_fetched": 1})
    assert job_item_get(job_id) is None
    # Nothing was applied, so no marker was left either.
    response = dynamodb_client().get_item(
        TableName=settings.JOBS_TABLE, Key=applied_marker_key(job_id, "late-batch")
    )
    assert "Item" not in response


def test_a_unit_without_counts_is_still_recorded_once(aws_resources: Any) -> None:
    job_id = _new_job()
    assert job_item_add_counters_once(job_id, "empty-batch", {})
    assert not job_item_add_counters_once(job_id, "empty-batch", {})
