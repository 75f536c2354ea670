"""Exact job counters in DynamoDB, spread over counter shard items of the job table.

Counters must count each unit (write batch, image, summary) once however often its message
is redelivered. A unit adds its counts with ONE conditional UpdateItem that also records
its id in a string set, on condition that the id is not in the set yet. One item per job
cannot hold those ids: DynamoDB items stop at 400 KB, so an enriched job broke at roughly
15,000 units. TransactWriteItems (a marker item per unit) is out: moto, our emulator,
double-counted or lost units under concurrent duplicates. A single conditional UpdateItem
on one item is race-safe there and on DynamoDB, so the ids are spread over shard items
instead: unit `u` of job `j` goes to item `j#c<k>` (same table, same `scraping_id` hash
key; job ids are UUIDs, so no job has such an id), k = sha1(u) mod N, and that item holds
both the unit ids it applied (`applied_units`) and its counters (a `counters` map).

How N is chosen (`counter_shard_count`, fixed at job creation and stored on the job item as
`counter_shards`, so a later change of the formula never moves an existing job's units):
- Unit ids are short. Measured on a 2,020-page enriched bench job: write batches are 24
  bytes (sha1[:24], one per 64 pages there; `expand-...` 26, `poison-...` 31), summaries
  and images `sum-<row id>` / `img-<row id>`, 9 bytes at 5-digit ids. Budget: 32 bytes a
  write batch (assumed one per page, the worst case) and 16 bytes an enrichment unit (row
  ids up to 12 digits).
- The parser keeps at most 64 images a page (parse.MAX_IMAGES_PER_PAGE); the bench job
  averaged 8.2, at most 25. Budget: 32 per page on average, plus one summary:
  32 + 16 * 33 = 560 bytes per page of max_pages. Even if every page had the maximum
  64 images (1,072 bytes a page), a shard would end near 245 KB, under the limit.
- Each shard is sized to end at 128 KB at that budget, a third of the limit. (Hash
  imbalance is a few percent.)
  N = ceil(max_pages * 560 / 128,000): 1 shard up to 228 pages, 5 at 1,000, 438 at
  CRAWL_MAX_PAGES_LIMIT (100,000), where the measured profile (83 bytes a page) ends
  near 19 KB a shard.
- Why not fewer, larger shards: DynamoDB bills a write by the item's size (1 WCU per KB),
  so the per-unit write cost grows with the shard. Why not more: each shard costs every
  read at least one RCU and a BatchGetItem key (100 a call), and creation and deletion a
  BatchWriteItem request (25 a call): 5 and 18 calls at 438 shards.

Hot path: one UpdateItem per unit. A process learns N once per job (one GetItem, cached;
N never changes). All N shards are written (BatchWriteItem) before the job item, at
creation, and deleted with it; the update requires the shard to exist. So every job item
has its shards, and a late unit of a deleted job is dropped instead of recreating one.
Shards are not created lazily on first use: moto makes neither a conditional PutItem nor
an UpdateItem that creates an item atomic against concurrent writers to that item (it
lost a count in a 4-thread test), while updates of an existing item held.

Job items without `counter_shards` (created before shards) keep the old layout: counters
and `applied_batches` on the job item itself. A shard (or such an item) that reaches the
size limit anyway fails loudly with JobCountersFull; nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError
from django.conf import settings

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
_shard_counts: dict[str, int] = {}


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


def counter_shard_of(unit_id: str, shards: int) -> int:
    """The shard a unit's counts go to: stable across processes (unlike hash())."""
    digest = hashlib.sha1(unit_id.encode(), usedforsecurity=False).digest()
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


def _shard_request(shard_id: str, unit_id: str, increments: Mapping[str, int]) -> dict[str, Any]:
    names = {"#u": "applied_units"}
    values: dict[str, Any] = {":unit": {"SS": [unit_id]}, ":unit_id": {"S": unit_id}}
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
            "(attribute_not_exists(#u) OR NOT contains(#u, :unit_id))"
        ),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _shard_count(job_id: str) -> int | None:
    """The job's counter shard count (0: the layout before shards), None if it has no item."""
    if job_id in _shard_counts:
        return _shard_counts[job_id]
    response = dynamodb_client().get_item(
        TableName=settings.JOBS_TABLE,
        Key=_key(job_id),
        ProjectionExpression="scraping_id, counter_shards",
        ConsistentRead=True,
    )
    item = response.get("Item")
    if item is None:
        return None  # deleted (or not created yet): not cached
    if len(_shard_counts) >= _SHARD_COUNT_CACHE:
        _shard_counts.clear()
    _shard_counts[job_id] = int(item.get("counter_shards", {"N": "0"})["N"])
    return _shard_counts[job_id]


def job_item_add_counters_once(job_id: str, unit_id: str, counters: Mapping[str, int]) -> bool:
    """Add a unit's counts unless this unit was already added. Returns True if added.

    Returns False for a repeated unit and for a job whose item is gone (deleted). Raises
    JobCountersFull if the unit's counter item reached DynamoDB's item size limit.
    """
    increments = _increments(counters)
    shards = _shard_count(job_id)
    if shards is None:
        return False
    if shards == 0:
        return _update(job_id, _job_item_request(job_id, unit_id, increments))
    shard_id = counter_shard_id(job_id, counter_shard_of(unit_id, shards))
    return _update(job_id, _shard_request(shard_id, unit_id, increments))


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


def counter_shards_delete(job_id: str, shards: int) -> None:
    _batch_write(
        job_id,
        [
            {"DeleteRequest": {"Key": _key(counter_shard_id(job_id, shard))}}
            for shard in range(shards)
        ],
    )
