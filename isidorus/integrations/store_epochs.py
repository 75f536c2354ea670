"""When each SQS queue and the S3 bucket came into being, read from the stores themselves.

A store that is emptied by being recreated (a restarted LocalStack, a queue deleted and
bootstrapped again) keeps its name and URL but gets a new creation time; that is how a
loss is told apart from an outage. Queue URLs are cached per process, so a reaper pass
costs one GetQueueAttributes per queue and one ListBuckets.
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


def bucket_created_at(bucket: str) -> datetime | None:
    """The bucket's creation time, or None if it does not exist. Errors propagate."""
    for entry in s3_client().list_buckets().get("Buckets", []):
        if entry.get("Name") == bucket:
            created: datetime = entry["CreationDate"]
            return created if created.tzinfo else created.replace(tzinfo=UTC)
    return None
