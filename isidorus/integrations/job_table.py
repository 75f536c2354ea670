"""The job item in DynamoDB: live status and counters.

Status moves forward only (QUEUED -> RUNNING -> terminal). Every move is a conditional
write, so a late or repeated message cannot move a finished job back. The exact counters
live in counter shard items beside the job item (job_counters); job_item_get adds them up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings

from isidorus.integrations.aws import dynamodb_client
from isidorus.integrations.job_counters import LAYOUT as COUNTER_LAYOUT
from isidorus.integrations.job_counters import (
    counter_shard_count,
    counter_shards_create,
    counter_shards_delete,
    counter_shards_expire,
    counter_shards_sum,
)
from isidorus.integrations.job_counters import (
    job_counter_layout as job_counter_layout,
)
from isidorus.integrations.job_counters import (
    job_item_add_counters as job_item_add_counters,
)
from isidorus.integrations.job_counters import (
    job_item_add_counters_many as job_item_add_counters_many,
)
from isidorus.integrations.job_counters import (
    job_item_add_counters_once as job_item_add_counters_once,
)

QUEUED = "QUEUED"
RUNNING = "RUNNING"
TERMINAL = ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED")
# The table's TTL attribute (epoch seconds): DynamoDB deletes an item some time after it.
TTL_ATTRIBUTE = "expires_at"
# Kept for the counters' bookkeeping and retention, never part of what job_item_get returns.
_INTERNAL = frozenset({"applied_batches", "counter_shards", "counter_layout", TTL_ATTRIBUTE})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _key(job_id: str) -> dict[str, Any]:
    return {"scraping_id": {"S": job_id}}


def _conditional_failed(error: ClientError) -> bool:
    return bool(error.response["Error"]["Code"] == "ConditionalCheckFailedException")


def job_item_create(
    *,
    job_id: str,
    owner_id: int,
    url: str,
    depth: int,
    created_at: str,
    max_pages: int | None = None,
) -> bool:
    """Create the item once. Returns False if it already exists (a retried start).

    The job's counter shards are written first, so every job item has all of its shards.
    Overwriting them is safe while the job item does not exist: no work has been published
    for the job, so no unit has been counted. `max_pages` (default CRAWL_DEFAULT_MAX_PAGES)
    fixes how many shards the job gets.
    """
    existing = dynamodb_client().get_item(
        TableName=settings.JOBS_TABLE,
        Key=_key(job_id),
        ProjectionExpression="scraping_id",
        ConsistentRead=True,
    )
    if "Item" in existing:
        return False
    shards = counter_shard_count(max_pages or settings.CRAWL_DEFAULT_MAX_PAGES)
    counter_shards_create(job_id, shards)
    try:
        dynamodb_client().put_item(
            TableName=settings.JOBS_TABLE,
            Item={
                **_key(job_id),
                "owner_id": {"N": str(owner_id)},
                "url": {"S": url},
                "depth": {"N": str(depth)},
                "status": {"S": QUEUED},
                "created_at": {"S": created_at},
                "counter_shards": {"N": str(shards)},
                "counter_layout": {"N": str(COUNTER_LAYOUT)},
            },
            ConditionExpression="attribute_not_exists(scraping_id)",
        )
    except ClientError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


def job_item_mark_running(job_id: str) -> bool:
    try:
        dynamodb_client().update_item(
            TableName=settings.JOBS_TABLE,
            Key=_key(job_id),
            UpdateExpression="SET #s = :running, started_at = :now",
            ConditionExpression="#s = :queued",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":running": {"S": RUNNING},
                ":queued": {"S": QUEUED},
                ":now": {"S": _now()},
            },
        )
    except ClientError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


def job_item_finish(job_id: str, *, status: str, reason: str = "") -> bool:
    """Move a job to a terminal status. Returns False if it was already terminal."""
    if status not in TERMINAL:
        raise ValueError(f"{status} is not a terminal status")
    try:
        dynamodb_client().update_item(
            TableName=settings.JOBS_TABLE,
            Key=_key(job_id),
            UpdateExpression="SET #s = :status, finished_at = :now, status_reason = :reason",
            ConditionExpression="#s IN (:queued, :running)",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":status": {"S": status},
                ":queued": {"S": QUEUED},
                ":running": {"S": RUNNING},
                ":now": {"S": _now()},
                ":reason": {"S": reason},
            },
        )
    except ClientError as error:
        if _conditional_failed(error):
            return False
        raise
    return True


def _plain(value: Mapping[str, Any]) -> Any:
    if "S" in value:
        return value["S"]
    if "N" in value:
        number = value["N"]
        return int(number) if number.lstrip("-").isdigit() else float(number)
    if "BOOL" in value:
        return value["BOOL"]
    return None


def job_item_get(job_id: str) -> dict[str, Any] | None:
    """The job's status fields and counters: the job item's own plus its shards'."""
    response = dynamodb_client().get_item(
        TableName=settings.JOBS_TABLE, Key=_key(job_id), ConsistentRead=True
    )
    item = response.get("Item")
    if item is None:
        return None
    found = {name: _plain(value) for name, value in item.items() if name not in _INTERNAL}
    shards = int(item.get("counter_shards", {"N": "0"})["N"])
    for name, value in counter_shards_sum(job_id, shards).items():
        found[name] = int(found.get(name) or 0) + value
    return found


def job_item_expire(job_id: str, *, expires_at: int) -> None:
    """Give the job item and its counter shards a TTL (`expires_at`, epoch seconds)."""
    try:
        response = dynamodb_client().update_item(
            TableName=settings.JOBS_TABLE,
            Key=_key(job_id),
            UpdateExpression="SET #ttl = :at",
            ConditionExpression="attribute_exists(scraping_id)",
            ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
            ExpressionAttributeValues={":at": {"N": str(expires_at)}},
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if _conditional_failed(error):
            return  # already gone
        raise
    shards = int(response["Attributes"].get("counter_shards", {"N": "0"})["N"])
    counter_shards_expire(job_id, shards, expires_at=expires_at, attribute=TTL_ATTRIBUTE)


def job_item_delete(job_id: str) -> None:
    """Delete the job item (which tells how many shards the job has), then its shards."""
    response = dynamodb_client().delete_item(
        TableName=settings.JOBS_TABLE, Key=_key(job_id), ReturnValues="ALL_OLD"
    )
    shards = int(response.get("Attributes", {}).get("counter_shards", {"N": "0"})["N"])
    counter_shards_delete(job_id, shards)
