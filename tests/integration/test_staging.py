"""Batches staged in S3 between the scraper and the writer (isidorus.scrapings.staging)."""

from __future__ import annotations

import gzip
import uuid
from typing import Any

import orjson
from django.conf import settings

from isidorus.integrations.aws import s3_client
from isidorus.scrapings.staging import stage_delete, stage_get, stage_put, staging_key

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
    assert stage_get(key) is None


def test_a_batch_staged_with_gzip_before_the_upgrade_still_reads(aws_resources: Any) -> None:
    key = f"staging/{uuid.uuid4()}/batch-1.json.gz"
    s3_client().put_object(
        Bucket=settings.S3_BUCKET, Key=key, Body=gzip.compress(orjson.dumps(PAYLOAD))
    )
    assert stage_get(key) == PAYLOAD
    stage_delete(key)
