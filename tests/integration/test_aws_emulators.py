"""The emulators answer the calls the job store and image store rely on."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
from botocore.exceptions import ClientError
from django.conf import settings

from isidorus.integrations.aws import aws_client, dynamodb_client, s3_client
from isidorus.integrations.bootstrap import STAGING_EXPIRY_RULE, ensure_staging_expiry


def test_dynamodb_conditional_put_refuses_a_second_create(aws_resources: Any) -> None:
    dynamodb = dynamodb_client()
    job_id = str(uuid.uuid4())
    item = {"scraping_id": {"S": job_id}, "status": {"S": "QUEUED"}}
    dynamodb.put_item(
        TableName=settings.JOBS_TABLE, Item=item,
        ConditionExpression="attribute_not_exists(scraping_id)",
    )  # fmt: skip
    with pytest.raises(ClientError) as raised:
        dynamodb.put_item(
            TableName=settings.JOBS_TABLE, Item=item,
            ConditionExpression="attribute_not_exists(scraping_id)",
        )  # fmt: skip
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_dynamodb_conditional_update_moves_forward_only(aws_resources: Any) -> None:
    dynamodb = dynamodb_client()
    job_id = str(uuid.uuid4())
    key = {"scraping_id": {"S": job_id}}
    dynamodb.put_item(
        TableName=settings.JOBS_TABLE, Item={**key, "status": {"S": "RUNNING"}, "pages": {"N": "0"}}
    )

    def complete() -> dict[str, Any]:
        response: dict[str, Any] = dynamodb.update_item(
            TableName=settings.JOBS_TABLE, Key=key,
            UpdateExpression="SET #s = :done ADD pages :one",
            ConditionExpression="#s = :running",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":done": {"S": "COMPLETED"}, ":running": {"S": "RUNNING"}, ":one": {"N": "1"},
            },
            ReturnValues="ALL_NEW",
        )  # fmt: skip
        return response

    assert complete()["Attributes"]["status"]["S"] == "COMPLETED"
    with pytest.raises(ClientError) as raised:
        complete()
    assert raised.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    stored = dynamodb.get_item(TableName=settings.JOBS_TABLE, Key=key, ConsistentRead=True)
    assert stored["Item"]["pages"]["N"] == "1"


def test_s3_put_then_get_round_trips_bytes_and_type(aws_resources: Any) -> None:
    s3 = s3_client()
    key = f"tests/{uuid.uuid4().hex}.bin"
    payload = bytes(range(256)) * 16
    s3.put_object(
        Bucket=settings.S3_BUCKET, Key=key, Body=payload, ContentType="application/octet-stream"
    )
    stored = s3.get_object(Bucket=settings.S3_BUCKET, Key=key)
    assert stored["Body"].read() == payload
    assert stored["ContentType"] == "application/octet-stream"
    s3.delete_object(Bucket=settings.S3_BUCKET, Key=key)


def test_bootstrap_expires_staged_batches_and_keeps_the_buckets_other_rules(
    aws_resources: Any, settings: Any
) -> None:
    s3 = s3_client()
    bucket = settings.S3_BUCKET
    other = {
        "ID": "operator-logs",
        "Filter": {"Prefix": "logs/"},
        "Status": "Enabled",
        "Expiration": {"Days": 30},
    }
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [other]})
    settings.STAGING_EXPIRY_DAYS = 3
    ensure_staging_expiry(bucket)
    ensure_staging_expiry(bucket)  # idempotent
    rules = {
        rule["ID"]: rule for rule in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    }
    assert set(rules) == {"operator-logs", STAGING_EXPIRY_RULE}
    assert rules[STAGING_EXPIRY_RULE]["Filter"] == {"Prefix": "staging/"}
    assert rules[STAGING_EXPIRY_RULE]["Expiration"]["Days"] == 3
    assert rules["operator-logs"]["Expiration"]["Days"] == 30
    s3.delete_bucket_lifecycle(Bucket=bucket)


def test_sqs_and_s3_calls_keep_their_connection_open(aws_resources: Any) -> None:
    # LocalStack closes a connection after one answer unless the request asks to keep it
    # (isidorus.integrations.aws.ask_keep_alive): without the header, no connection would
    # still be open to it after the calls.
    s3, sqs = s3_client(), aws_client("sqs")
    for _ in range(3):
        s3.head_bucket(Bucket=settings.S3_BUCKET)
        sqs.list_queues(MaxResults=1)
    port = urlsplit(settings.AWS_ENDPOINTS["s3"]).port
    open_to_localstack = [
        connection
        for connection in psutil.Process().net_connections(kind="tcp")
        if connection.raddr and connection.raddr.port == port
        and connection.status == psutil.CONN_ESTABLISHED
    ]  # fmt: skip
    assert open_to_localstack
