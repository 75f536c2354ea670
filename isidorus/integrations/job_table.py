"""The job item in DynamoDB: live status and counters.

Status moves forward only (QUEUED -> RUNNING -> terminal). Every move is a conditional
write, so a late or repeated message cannot move a finished job back.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings

from isidorus.integrations.aws import dynamodb_client

QUEUED = "QUEUED"
RUNNING = "RUNNING"
TERMINAL = ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _key(job_id: str) -> dict[str, Any]:
    return {"scraping_id": {"S": job_id}}


def _conditional_failed(error: ClientError) -> bool:
    return bool(error.response["Error"]["Code"] == "ConditionalCheckFailedException")


def job_item_create(*, job_id: str, owner_id: int, url: str, depth: int, created_at: str) -> bool:
    """Create the item once. Returns False if it already exists (a retried start)."""
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


def job_item_add_counters(job_id: str, counters: Mapping[str, int]) -> None:
    """Atomically add to counters. Callers pass only rows really inserted, so this is exact."""
    increments = {name: value for name, value in counters.items() if value}
    if not increments:
        return
    names = {f"#c{index}": name for index, name in enumerate(increments)}
    values = {f":c{index}": {"N": str(value)} for index, value in enumerate(increments.values())}
    expression = "ADD " + ", ".join(
        f"{name} {value}" for name, value in zip(names, values, strict=True)
    )
    dynamodb_client().update_item(
        TableName=settings.JOBS_TABLE,
        Key=_key(job_id),
        UpdateExpression=expression,
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def job_item_add_counters_once(job_id: str, batch_id: str, counters: Mapping[str, int]) -> bool:
    """Add a batch's counts unless this batch was already added. Returns True if added."""
    increments = {name: value for name, value in counters.items() if value}
    names = {f"#c{index}": name for index, name in enumerate(increments)}
    values: dict[str, Any] = {
        f":c{index}": {"N": str(value)} for index, value in enumerate(increments.values())
    }
    additions = [f"{name} {value}" for name, value in zip(names, values, strict=True)]
    values[":batch"] = {"SS": [batch_id]}
    values[":batch_id"] = {"S": batch_id}
    request: dict[str, Any] = {
        "TableName": settings.JOBS_TABLE,
        "Key": _key(job_id),
        "UpdateExpression": "ADD " + ", ".join([*additions, "applied_batches :batch"]),
        "ConditionExpression": (
            "attribute_exists(scraping_id) AND "
            "(attribute_not_exists(applied_batches) OR NOT contains(applied_batches, :batch_id))"
        ),
        "ExpressionAttributeValues": values,
    }
    if names:
        request["ExpressionAttributeNames"] = names
    try:
        dynamodb_client().update_item(**request)
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
    if "SS" in value:
        return sorted(value["SS"])
    return None


def job_item_get(job_id: str) -> dict[str, Any] | None:
    response = dynamodb_client().get_item(
        TableName=settings.JOBS_TABLE, Key=_key(job_id), ConsistentRead=True
    )
    item = response.get("Item")
    if item is None:
        return None
    return {name: _plain(value) for name, value in item.items()}


def job_item_delete(job_id: str) -> None:
    dynamodb_client().delete_item(TableName=settings.JOBS_TABLE, Key=_key(job_id))
