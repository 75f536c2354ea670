"""Batches staged in S3 between the scraper and the writer (isidorus.scrapings.staging)."""

from __future__ import annotations

import gzip
import uuid
from typing import Any

import orjson
import pytest
from django.conf import settings

from isidorus.integrations.aws import s3_client
from isidorus.scrapings.staging import (
    StagedBatchUnreadable,
    stage_delete,
    stage_get,
    stage_put,
    staging_key,
)

PAYLOAD = {
    "pages": [{"url": "http://example.com/é", "text": "word " * 2000, "terms": {"word": 2000}}],
    "duplicates": 3,
}


def test_a_staged_batch_reads_back_equal_and_compressed(aws_resources: Any) -> None:
    job_id = str(uuid.uuid4())
    key = staging_key(job_id, "batch-1")
    stage_put(job_id, key, PAYLOAD)
    stored = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=key)["Body"].read()
    assert len(stored) < len(orjson.dumps(PAYLOAD)) / 10
    assert stage_get(key) == PAYLOAD
    stage_delete(key)
    with pytest.raises(StagedBatchUnreadable, match="missing"):
        stage_get(key)


def test_a_batch_staged_with_gzip_before_the_upgrade_still_reads(aws_resources: Any) -> None:
    key = f"staging/{uuid.uuid4()}/batch-1.json.gz"
    s3_client().put_object(
        Bucket=settings.S3_BUCKET, Key=key, Body=gzip.compress(orjson.dumps(PAYLOAD))
    )
    assert stage_get(key) == PAYLOAD
    stage_delete(key)


@pytest.mark.parametrize(
    "corrupt",
    [
        pytest.param(lambda body: body[: len(body) // 2], id="truncated"),
        pytest.param(lambda body: b"not zstd at all", id="undecodable"),
        pytest.param(lambda body: b"", id="empty"),
    ],
)
def test_a_corrupt_staged_batch_is_unreadable_not_empty(aws_resources: Any, corrupt: Any) -> None:
    job_id = str(uuid.uuid4())
    key = staging_key(job_id, "batch-1")
    stage_put(job_id, key, PAYLOAD)
    s3 = s3_client()
    body = s3.get_object(Bucket=settings.S3_BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=settings.S3_BUCKET, Key=key, Body=corrupt(body))
    with pytest.raises(StagedBatchUnreadable, match="undecodable"):
        stage_get(key)
    stage_delete(key)


def test_a_staged_object_that_is_not_a_batch_is_unreadable(aws_resources: Any) -> None:
    key = staging_key(str(uuid.uuid4()), "batch-1")
    stage_put(key.split("/")[1], key, {"something": "else"})
    with pytest.raises(StagedBatchUnreadable, match="not a batch"):
        stage_get(key)
    stage_delete(key)
