"""The store-loss check's decision: stores recreated after a job started lost its work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from isidorus.scrapings.services.store_loss import S3_LOST, SQS_LOST, StoreEpoch, lost_store_reason

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
SKEW = timedelta(seconds=5)


def _stores(queue_at: datetime | None, bucket_at: datetime | None) -> list[StoreEpoch]:
    return [
        StoreEpoch(SQS_LOST, "ns-scraper", queue_at),
        StoreEpoch(SQS_LOST, "ns-writer", START - timedelta(days=1)),
        StoreEpoch(S3_LOST, "ns-images", bucket_at),
    ]


def test_stores_older_than_the_job_lost_nothing() -> None:
    assert lost_store_reason(START, _stores(START - timedelta(hours=1), START), skew=SKEW) is None


def test_a_store_created_within_the_clock_skew_lost_nothing() -> None:
    at = START + timedelta(seconds=4)
    assert lost_store_reason(START, _stores(at, at), skew=SKEW) is None


def test_a_queue_recreated_after_the_start_is_named() -> None:
    reason = lost_store_reason(START, _stores(START + timedelta(minutes=1), START), skew=SKEW)
    assert reason == (
        "sqs_lost: queue ns-scraper recreated after the job started; its messages are gone"
    )


def test_a_missing_queue_and_a_recreated_bucket_are_both_named() -> None:
    reason = lost_store_reason(START, _stores(None, START + timedelta(minutes=1)), skew=SKEW)
    assert reason == (
        "sqs_lost: queue ns-scraper not found; its messages are gone; "
        "s3_lost: bucket ns-images recreated after the job started; its staged batches are gone"
    )
