"""When each SQS queue and the S3 bucket came into being, read from the stores themselves.

A store that is emptied by being recreated (a restarted LocalStack, a queue deleted and
bootstrapped again) keeps its name and URL but gets a new creation time; that is how a
loss is told apart from an outage. Queue URLs are cached per process, so a reaper pass
costs one GetQueueAttributes per queue and one GetObject of the bucket's birth record.
"""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from isidorus.integrations.aws import s3_client, sqs_client

QUEUE_MISSING_CODES = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
_queue_urls: dict[tuple[str, str], str] = {}


def _queue_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in QUEUE_MISSING_CODES


def _queue_url(name: str) -> str:
    sqs = sqs_client()
    key = (str(sqs.meta.endpoint_url), name)
    if key not in _queue_urls:
        _queue_urls[key] = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return _queue_urls[key]


def queue_created_at(name: str) -> datetime | None:
    """The queue's creation time, or None if it does not exist. Other errors propagate."""
    sqs = sqs_client()
    try:
        url = _queue_url(name)
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["CreatedTimestamp"])
    except ClientError as error:
        _queue_urls.pop((str(sqs.meta.endpoint_url), name), None)
        if _queue_missing(error):
            return None
        raise
    return datetime.fromtimestamp(int(attributes["Attributes"]["CreatedTimestamp"]), tz=UTC)


# S3's ListBuckets CreationDate changes when a bucket's settings change (its policy, for
# one), so the bucket's own birth is recorded in it, by bootstrap_aws, when it creates it.
BUCKET_EPOCH_KEY = "_isidorus/bucket-created-at"
UNKNOWN_EPOCH = datetime.min.replace(tzinfo=UTC)


def bucket_epoch_record(bucket: str, *, created_now: bool) -> None:
    """Record when the bucket came into being, once. A bucket that existed before this
    record did gets an unknown (older than any job) birth: an upgrade loses nothing."""
    s3 = s3_client()
    try:
        s3.head_object(Bucket=bucket, Key=BUCKET_EPOCH_KEY)
        return
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey"):
            raise
    value = datetime.now(UTC).isoformat() if created_now else "unknown"
    s3.put_object(Bucket=bucket, Key=BUCKET_EPOCH_KEY, Body=value.encode())


def bucket_created_at(bucket: str) -> datetime | None:
    """When bootstrap_aws created the bucket, or None if it does not exist. A bucket without
    the record (made by hand, or emptied) proves nothing: UNKNOWN_EPOCH. Errors propagate."""
    try:
        body = s3_client().get_object(Bucket=bucket, Key=BUCKET_EPOCH_KEY)["Body"].read()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "NoSuchBucket":
            return None
        if code in ("NoSuchKey", "404"):
            return UNKNOWN_EPOCH
        raise
    try:
        created = datetime.fromisoformat(body.decode())
    except ValueError:
        return UNKNOWN_EPOCH
    return created if created.tzinfo else created.replace(tzinfo=UTC)
