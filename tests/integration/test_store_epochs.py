"""When the stores came into being, read from LocalStack: the bucket's birth is recorded by
bootstrap_aws when it creates the bucket (S3's own CreationDate changes with the bucket's
settings), and a queue's is its CreatedTimestamp."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from isidorus.integrations.aws import s3_client
from isidorus.integrations.bootstrap import BucketNotOurs, ensure_bucket
from isidorus.integrations.store_epochs import (
    BUCKET_EPOCH_KEY,
    UNKNOWN_EPOCH,
    bucket_created_at,
    queue_created_at,
)


def _drop(bucket: str) -> None:
    s3 = s3_client()
    for entry in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=entry["Key"])
    s3.delete_bucket(Bucket=bucket)


def test_a_bucket_created_by_bootstrap_records_its_birth_and_a_dropped_one_is_missing() -> None:
    bucket = f"isidorus-epoch-{uuid.uuid4().hex[:12]}"
    before = datetime.now(UTC) - timedelta(seconds=1)
    ensure_bucket(bucket)
    born = bucket_created_at(bucket)
    assert born is not None
    assert before <= born <= datetime.now(UTC)
    ensure_bucket(bucket)  # bootstrap again: the birth stays
    assert bucket_created_at(bucket) == born
    _drop(bucket)
    assert bucket_created_at(bucket) is None


def test_a_bucket_that_existed_before_the_record_has_an_unknown_birth() -> None:
    bucket = f"isidorus-epoch-{uuid.uuid4().hex[:12]}"
    s3_client().create_bucket(Bucket=bucket)  # made before bootstrap_aws recorded births
    assert bucket_created_at(bucket) == UNKNOWN_EPOCH  # proves nothing: no job is failed
    ensure_bucket(bucket)
    body = s3_client().get_object(Bucket=bucket, Key=BUCKET_EPOCH_KEY)["Body"].read()
    assert body == b"unknown"
    assert bucket_created_at(bucket) == UNKNOWN_EPOCH
    _drop(bucket)


def test_a_queue_has_its_creation_time_and_a_missing_one_has_none(aws_resources: Any) -> None:
    name = next(iter(aws_resources))
    created = queue_created_at(name)
    assert created is not None
    assert created <= datetime.now(UTC)
    assert queue_created_at(f"isidorus-missing-{uuid.uuid4().hex[:8]}") is None


def test_bootstrap_refuses_a_bucket_another_account_owns() -> None:
    """S3 names are global: the default name may be someone else's. LocalStack keeps one
    account per access key id, so a 12-digit key is another account."""
    bucket = f"isidorus-foreign-{uuid.uuid4().hex[:12]}"
    other_account = boto3.client(
        "s3",
        endpoint_url=settings.AWS_ENDPOINTS["s3"],
        aws_access_key_id="111111111111",
        aws_secret_access_key="test",
        region_name=settings.AWS_REGION,
    )
    other_account.create_bucket(Bucket=bucket)
    try:
        with pytest.raises(BucketNotOurs, match="belongs to another AWS account"):
            ensure_bucket(bucket)
        with (
            pytest.raises(CommandError, match="ISIDORUS_S3_BUCKET"),
            override_settings(S3_BUCKET=bucket),
        ):
            call_command("bootstrap_aws")
    finally:
        other_account.delete_bucket(Bucket=bucket)
