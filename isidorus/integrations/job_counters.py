"""Exact job counters in DynamoDB, spread over counter shard items of the job table.

A unit (write batch, image, summary) adds its counts once however often its message is
redelivered: ONE conditional UpdateItem adds them and records the unit's id in a string
set, on condition that the id is not there yet. Unit `u` of job `j` goes to shard item
`j#c<k>`, k = sha1(u) mod N, with N fixed at job creation (`counter_shard_count`, stored
on the job item as `counter_shards`). All shards are written before the job item and
deleted with it; an update requires its shard to exist, so a late unit of a deleted job
is dropped. Why shards, how N is sized, and why not transactions or lazy creation:
docs/design-notes.md, "Job counters".

Layout 2 (`counter_layout` on the job item, set at creation): an enrichment unit
(`img-<row id>`, `sum-<page id>`) goes to the shard of its block of UNIT_BLOCK row ids, so
the rows of one enrichment message (consecutive ids) land on one or two shards, and
`job_item_add_counters_many` adds them with one UpdateItem per shard instead of one per
row. Jobs created before it (no `counter_layout`) keep one shard per unit id's hash.

Layout 3: enrichment rows are counted in units of one delivery's rows (`enr-<uuid>`,
isidorus/scrapings/services/enrichment_counts.py), spread over the shards by hash like
write batches; layout 2's blocks still place a layout-2 job's per-row units.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings

from isidorus.integrations import metrics
from isidorus.integrations.aws import dynamodb_client

logger = logging.getLogger(__name__)

# Shard sizing (see the module docstring for the measurements).
BATCH_ID_BYTES = 32
UNIT_ID_BYTES = 16
IMAGES_PER_PAGE_BUDGET = 32
SHARD_TARGET_BYTES = 128_000
ITEM_LIMIT_BYTES = 400 * 1024

# BatchGetItem takes at most 100 keys, BatchWriteItem 25 requests.
_GET_BATCH = 100
_WRITE_BATCH = 25
_BATCH_ATTEMPTS = 10
_SHARD_COUNT_CACHE = 4096
# (shard count, layout) per job: both fixed at the job's creation.
_shard_counts: dict[str, tuple[int, int]] = {}
LAYOUT = 3
UNIT_BLOCK = 64
_BLOCKED_PREFIXES = ("img-", "sum-")
# Units added by one UpdateItem at most: its condition names each one (4 KB expression cap).
_MANY_PER_UPDATE = 50


class JobCountersFull(Exception):
    """A counter item reached DynamoDB's item size limit: its counts cannot grow any more."""

    def __init__(self, job_id: str, item_id: str) -> None:
        super().__init__(f"counter item {item_id} of job {job_id} reached the item size limit")
        self.job_id = job_id
        self.item_id = item_id


def counter_shard_count(max_pages: int, *, images_per_page: int = IMAGES_PER_PAGE_BUDGET) -> int:
    """How many counter shards a job of `max_pages` pages gets (see the module docstring)."""
    page_bytes = BATCH_ID_BYTES + UNIT_ID_BYTES * (1 + images_per_page)
    return max(1, math.ceil(max(max_pages, 1) * page_bytes / SHARD_TARGET_BYTES))


def counter_shard_of(unit_id: str, shards: int, layout: int = LAYOUT) -> int:
    """The shard a unit's counts go to: stable across processes (unlike hash())."""
    key = unit_id
    if layout >= 2 and unit_id.startswith(_BLOCKED_PREFIXES):
        prefix, _, number = unit_id.partition("-")
        if number.isdigit():
            key = f"{prefix}-block-{int(number) // UNIT_BLOCK}"
    digest = hashlib.sha1(key.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") % shards


def counter_shard_id(job_id: str, shard: int) -> str:
    return f"{job_id}#c{shard}"


def _key(item_id: str) -> dict[str, Any]:
    return {"scraping_id": {"S": item_id}}


def _conditional_failed(error: ClientError) -> bool:
    return bool(error.response["Error"]["Code"] == "ConditionalCheckFailedException")


def _full(error: ClientError) -> bool:
    # "Item size to update has exceeded the maximum allowed size" (DynamoDB and moto).
    details = error.response["Error"]
    return details["Code"] == "ValidationException" and "maximum allowed size" in str(
        details.get("Message", "")
    )


def _update(job_id: str, request: dict[str, Any]) -> bool:
    """One UpdateItem. False if its condition failed; JobCountersFull if the item is full."""
    try:
        dynamodb_client().update_item(TableName=settings.JOBS_TABLE, **request)
    except ClientError as error:
        if _conditional_failed(error):
            return False
        if _full(error):
            item_id = request["Key"]["scraping_id"]["S"]
            logger.error(
                "job %s: counter item %s reached DynamoDB's item size limit; counts not added",
                job_id,
                item_id,
            )
            raise JobCountersFull(job_id, item_id) from error
        raise
    return True


def _increments(counters: Mapping[str, int]) -> dict[str, int]:
    return {name: value for name, value in counters.items() if value}


def _top_level_adds(increments: Mapping[str, int]) -> tuple[dict[str, str], dict[str, Any], str]:
    names = {f"#c{index}": name for index, name in enumerate(increments)}
    values: dict[str, Any] = {
        f":c{index}": {"N": str(value)} for index, value in enumerate(increments.values())
    }
    adds = ", ".join(f"{name} {value}" for name, value in zip(names, values, strict=True))
    return names, values, adds


def job_item_add_counters(job_id: str, counters: Mapping[str, int]) -> None:
    """Add to the job item's own counters, not deduplicated (the caller's counts must be
    final). job_item_get adds them to the shards' counters."""
    increments = _increments(counters)
    if not increments:
        return
    names, values, adds = _top_level_adds(increments)
    request = {
        "Key": _key(job_id),
        "UpdateExpression": "ADD " + adds,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    _update(job_id, request)


def _job_item_request(job_id: str, unit_id: str, increments: Mapping[str, int]) -> dict[str, Any]:
    """The layout before shards: counters and `applied_batches` on the job item itself."""
    names, values, adds = _top_level_adds(increments)
    values[":unit"] = {"SS": [unit_id]}
    values[":unit_id"] = {"S": unit_id}
    request: dict[str, Any] = {
        "Key": _key(job_id),
        "UpdateExpression": "ADD " + ", ".join(filter(None, [adds, "applied_batches :unit"])),
        "ConditionExpression": (
            "attribute_exists(scraping_id) AND "
            "(attribute_not_exists(applied_batches) OR NOT contains(applied_batches, :unit_id))"
        ),
        "ExpressionAttributeValues": values,
    }
    if names:
        request["ExpressionAttributeNames"] = names
    return request


def _shard_request(
    shard_id: str, unit_ids: list[str], increments: Mapping[str, int]
) -> dict[str, Any]:
    names = {"#u": "applied_units"}
    values: dict[str, Any] = {":unit": {"SS": unit_ids}}
    absent = []
    for index, unit_id in enumerate(unit_ids):
        values[f":unit_id{index}"] = {"S": unit_id}
        absent.append(f"NOT contains(#u, :unit_id{index})")
    sets = []
    for index, (name, value) in enumerate(increments.items()):
        names[f"#c{index}"] = name
        values[f":c{index}"] = {"N": str(value)}
        sets.append(f"#m.#c{index} = if_not_exists(#m.#c{index}, :zero) + :c{index}")
    if sets:  # DynamoDB refuses names and values the expressions do not use
        names["#m"] = "counters"
        values[":zero"] = {"N": "0"}
    return {
        "Key": _key(shard_id),
        "UpdateExpression": ("SET " + ", ".join(sets) + " " if sets else "") + "ADD #u :unit",
        # attribute_exists: shards exist from the job's creation to its deletion, so a late
        # unit of a deleted job is dropped instead of recreating its shard.
        "ConditionExpression": (
            "attribute_exists(scraping_id) AND "
            f"(attribute_not_exists(#u) OR ({' AND '.join(absent)}))"
        ),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _shard_count(job_id: str) -> tuple[int, int] | None:
    """The job's counter shard count (0: the layout before shards) and layout, None if it
    has no item."""
    if job_id in _shard_counts:
        return _shard_counts[job_id]
    response = dynamodb_client().get_item(
        TableName=settings.JOBS_TABLE,
        Key=_key(job_id),
        ProjectionExpression="scraping_id, counter_shards, counter_layout",
        ConsistentRead=True,
    )
    item = response.get("Item")
    if item is None:
        return None  # deleted (or not created yet): not cached
    if len(_shard_counts) >= _SHARD_COUNT_CACHE:
        _shard_counts.clear()
    shards = int(item.get("counter_shards", {"N": "0"})["N"])
    layout = int(item.get("counter_layout", {"N": "1"})["N"])
    _shard_counts[job_id] = (shards, layout)
    return _shard_counts[job_id]


def job_counter_layout(job_id: str) -> int | None:
    """The job's counter layout (fixed at its creation), None if it has no item."""
    found = _shard_count(job_id)
    return None if found is None else found[1]


def job_item_add_counters_once(job_id: str, unit_id: str, counters: Mapping[str, int]) -> bool:
    """Add a unit's counts unless this unit was already added. Returns True if added.

    Returns False for a repeated unit and for a job whose item is gone (deleted). Raises
    JobCountersFull if the unit's counter item reached DynamoDB's item size limit.
    """
    increments = _increments(counters)
    found = _shard_count(job_id)
    if found is None:
        return False
    shards, layout = found
    if shards == 0:
        added = _update(job_id, _job_item_request(job_id, unit_id, increments))
    else:
        shard_id = counter_shard_id(job_id, counter_shard_of(unit_id, shards, layout))
        added = _update(job_id, _shard_request(shard_id, [unit_id], increments))
    if added:
        metrics.count_job_counters(increments)
    return added


def job_item_add_counters_many(job_id: str, units: Mapping[str, Mapping[str, int]]) -> int:
    """job_item_add_counters_once for many units, each still added at most once: one
    UpdateItem per shard adds the units' sum on condition that none of them is there yet;
    if any is (a redelivery), that shard's units go one by one. Returns how many were added.
    """
    found = _shard_count(job_id)
    if found is None:
        return 0
    shards, layout = found
    if shards == 0:
        return sum(job_item_add_counters_once(job_id, u, c) for u, c in units.items())
    by_shard: dict[int, list[str]] = {}
    for unit_id in units:
        by_shard.setdefault(counter_shard_of(unit_id, shards, layout), []).append(unit_id)
    added = 0
    for shard, unit_ids in by_shard.items():
        for start in range(0, len(unit_ids), _MANY_PER_UPDATE):
            group = unit_ids[start : start + _MANY_PER_UPDATE]
            increments = _increments(counters_summed(units[unit_id] for unit_id in group))
            request = _shard_request(counter_shard_id(job_id, shard), group, increments)
            if _update(job_id, request):
                metrics.count_job_counters(increments)
                added += len(group)
            elif len(group) > 1:
                added += sum(job_item_add_counters_once(job_id, u, units[u]) for u in group)
    return added


def counters_summed(counters: Iterable[Mapping[str, int]]) -> dict[str, int]:
    """The sum of several units' counters, name by name."""
    total: dict[str, int] = {}
    for one in counters:
        for name, value in one.items():
            total[name] = total.get(name, 0) + value
    return total


def counter_shards_sum(job_id: str, shards: int) -> dict[str, int]:
    """The counters of all the job's shards, added up (strongly consistent reads).

    Only the `counters` map is projected, so the unit id sets are not sent back (DynamoDB
    still bills the read by the whole item).
    """
    table = settings.JOBS_TABLE
    totals: dict[str, int] = {}
    keys = [_key(counter_shard_id(job_id, shard)) for shard in range(shards)]
    for start in range(0, len(keys), _GET_BATCH):
        pending = keys[start : start + _GET_BATCH]
        for attempt in range(_BATCH_ATTEMPTS):
            response = dynamodb_client().batch_get_item(
                RequestItems={
                    table: {
                        "Keys": pending,
                        "ConsistentRead": True,
                        "ProjectionExpression": "#m",
                        "ExpressionAttributeNames": {"#m": "counters"},
                    }
                }
            )
            for item in response.get("Responses", {}).get(table, []):
                for name, value in item.get("counters", {}).get("M", {}).items():
                    totals[name] = totals.get(name, 0) + int(value["N"])
            pending = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
            if not pending:
                break
            time.sleep(min(1.0, 0.05 * 2**attempt))
        else:
            raise RuntimeError(f"DynamoDB kept counter shards of job {job_id} unprocessed")
    return totals


def _batch_write(job_id: str, requests: list[dict[str, Any]]) -> None:
    table = settings.JOBS_TABLE
    for start in range(0, len(requests), _WRITE_BATCH):
        pending = requests[start : start + _WRITE_BATCH]
        for attempt in range(_BATCH_ATTEMPTS):
            response = dynamodb_client().batch_write_item(RequestItems={table: pending})
            pending = response.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                break
            time.sleep(min(1.0, 0.05 * 2**attempt))
        else:
            raise RuntimeError(f"DynamoDB kept counter shards of job {job_id} unprocessed")


def counter_shards_create(job_id: str, shards: int) -> None:
    """Write the job's empty shards. Only before its job item exists: this overwrites."""
    _batch_write(
        job_id,
        [
            {
                "PutRequest": {
                    "Item": {**_key(counter_shard_id(job_id, shard)), "counters": {"M": {}}}
                }
            }
            for shard in range(shards)
        ],
    )


def counter_shards_expire(job_id: str, shards: int, *, expires_at: int, attribute: str) -> None:
    """Set the TTL attribute on each shard (one update each: BatchWriteItem cannot update)."""
    for shard in range(shards):
        try:
            dynamodb_client().update_item(
                TableName=settings.JOBS_TABLE,
                Key=_key(counter_shard_id(job_id, shard)),
                UpdateExpression="SET #ttl = :at",
                ConditionExpression="attribute_exists(scraping_id)",
                ExpressionAttributeNames={"#ttl": attribute},
                ExpressionAttributeValues={":at": {"N": str(expires_at)}},
            )
        except ClientError as error:
            if not _conditional_failed(error):  # a shard already gone has nothing to keep
                raise


def counter_shards_delete(job_id: str, shards: int) -> None:
    _batch_write(
        job_id,
        [
            {"DeleteRequest": {"Key": _key(counter_shard_id(job_id, shard))}}
            for shard in range(shards)
        ],
    )
