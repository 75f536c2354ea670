"""Create the AWS resources Isidorus needs. Idempotent; same calls on LocalStack and AWS."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from botocore.exceptions import ClientError
from django.conf import settings

from config.queues import QueueSpec, all_queue_specs
from isidorus.integrations.aws import dynamodb_client, s3_client, sqs_client
from isidorus.integrations.job_table import TTL_ATTRIBUTE
from isidorus.integrations.store_epochs import bucket_epoch_record

DLQ_RETENTION_SECONDS = 14 * 24 * 3600


@dataclass
class BootstrapReport:
    queues: dict[str, str] = field(default_factory=dict)
    table: str = ""
    bucket: str = ""


def _ensure_queue(name: str, attributes: dict[str, str]) -> str:
    sqs = sqs_client()
    try:
        url: str = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as error:
        if error.response["Error"]["Code"] not in (
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
        ):
            raise
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
    # Set attributes every time, so a changed setting reaches an existing queue.
    sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    return url


def ensure_queue_pair(spec: QueueSpec) -> tuple[str, str]:
    dlq_url = _ensure_queue(spec.dlq_name, {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS)})
    dlq_arn = sqs_client().get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(settings.SQS_MAX_RECEIVES)}
    queue_url = _ensure_queue(
        spec.name,
        {
            "VisibilityTimeout": str(settings.SQS_VISIBILITY_TIMEOUT),
            "RedrivePolicy": json.dumps(redrive),
        },
    )
    return queue_url, dlq_url


def ensure_jobs_table(table: str) -> None:
    dynamodb = dynamodb_client()
    try:
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "scraping_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "scraping_id", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
    dynamodb.get_waiter("table_exists").wait(
        TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    ensure_item_expiry(table)


def ensure_item_expiry(table: str) -> None:
    """Turn on the table's TTL: finished jobs' items carry `expires_at` (scrapings/retention.py)."""
    dynamodb = dynamodb_client()
    described = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if described.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    dynamodb.update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


class BucketNotOurs(Exception):
    def __init__(self, bucket: str) -> None:
        super().__init__(
            f"the S3 bucket {bucket!r} exists and belongs to another AWS account (or this one "
            "may not use it): every image and staged batch would fail to write. Set "
            "ISIDORUS_S3_BUCKET to a bucket name of your own."
        )


def _bucket_exists(bucket: str) -> bool:
    try:
        s3_client().head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("404", "NoSuchBucket"):
            return False
        if code in ("403", "AccessDenied", "Forbidden"):
            raise BucketNotOurs(bucket) from None
        raise
    return True


def ensure_bucket(bucket: str) -> None:
    """Create the bucket if it is missing, and record when it was created (store_epochs).

    Refuses a bucket another account owns: S3 names are global, so the default name may be
    taken. CreateBucket is asked every time because it is what tells: BucketAlreadyExists
    means someone else's (HeadBucket answers 403 for it on AWS, but 200 on emulators).
    """
    existed = _bucket_exists(bucket)
    kwargs: dict[str, object] = {"Bucket": bucket}
    if settings.AWS_REGION != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": settings.AWS_REGION}
    try:
        s3_client().create_bucket(**kwargs)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "BucketAlreadyExists":
            raise BucketNotOurs(bucket) from None
        if code != "BucketAlreadyOwnedByYou":
            raise
    bucket_epoch_record(bucket, created_now=not existed)


STAGING_EXPIRY_RULE = "isidorus-staging-expiry"


def ensure_staging_expiry(bucket: str) -> None:
    """Expire staged batches (`staging/`) after STAGING_EXPIRY_DAYS, keeping any other
    lifecycle rules the bucket has (a put replaces the whole configuration)."""
    s3 = s3_client()
    try:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    ours = {
        "ID": STAGING_EXPIRY_RULE,
        "Filter": {"Prefix": "staging/"},
        "Status": "Enabled",
        "Expiration": {"Days": settings.STAGING_EXPIRY_DAYS},
    }
    others = [rule for rule in rules if rule.get("ID") != STAGING_EXPIRY_RULE]
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": [*others, ours]}
    )


def aws_bootstrap() -> BootstrapReport:
    report = BootstrapReport()
    for spec in all_queue_specs():
        queue_url, dlq_url = ensure_queue_pair(spec)
        report.queues[spec.name] = queue_url
        report.queues[spec.dlq_name] = dlq_url
    ensure_jobs_table(settings.JOBS_TABLE)
    report.table = settings.JOBS_TABLE
    ensure_bucket(settings.S3_BUCKET)
    ensure_staging_expiry(settings.S3_BUCKET)
    report.bucket = settings.S3_BUCKET
    return report
