"""Exactly-once job counters in DynamoDB (job_item_add_counters_once and counter shards)."""

from __future__ import annotations

import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.conf import settings

from isidorus.integrations.aws import dynamodb_client
from isidorus.integrations.job_counters import (
    ITEM_LIMIT_BYTES,
    SHARD_TARGET_BYTES,
    UNIT_BLOCK,
    JobCountersFull,
    counter_shard_count,
    counter_shard_id,
    counter_shard_of,
)
from isidorus.integrations.job_table import (
    job_item_add_counters,
    job_item_add_counters_many,
    job_item_add_counters_once,
    job_item_create,
    job_item_delete,
    job_item_get,
)

SHARDS_AT_1000_PAGES = 5


def _new_job(max_pages: int = 1000) -> str:
    job_id = str(uuid.uuid4())
    job_item_create(
        job_id=job_id,
        owner_id=1,
        url="http://example.com/",
        depth=1,
        created_at="2030-01-01T00:00:00Z",
        max_pages=max_pages,
    )
    return job_id


def _new_job_without_shards() -> str:
    """A job item as written before counter shards existed (no `counter_shards`)."""
    job_id = str(uuid.uuid4())
    dynamodb_client().put_item(
        TableName=settings.JOBS_TABLE,
        Item={"scraping_id": {"S": job_id}, "status": {"S": "RUNNING"}},
    )
    return job_id


def _raw_item(item_id: str) -> dict[str, Any] | None:
    response = dynamodb_client().get_item(
        TableName=settings.JOBS_TABLE, Key={"scraping_id": {"S": item_id}}, ConsistentRead=True
    )
    item: dict[str, Any] | None = response.get("Item")
    return item


def _shard_units(job_id: str, shards: int) -> dict[int, set[str]]:
    found = {}
    for shard in range(shards):
        item = _raw_item(counter_shard_id(job_id, shard))
        if item is not None:
            found[shard] = set(item.get("applied_units", {}).get("SS", []))
    return found


def test_a_unit_counts_once_however_often_it_is_applied(aws_resources: Any) -> None:
    job_id = _new_job()
    assert job_item_add_counters_once(job_id, "batch-a", {"pages_fetched": 3, "links": 10})
    assert not job_item_add_counters_once(job_id, "batch-a", {"pages_fetched": 3, "links": 10})
    assert job_item_add_counters_once(job_id, "batch-b", {"pages_fetched": 2, "links": 0})
    item = job_item_get(job_id)
    assert item is not None
    assert (item["pages_fetched"], item["links"]) == (5, 10)


def test_concurrent_duplicates_of_a_unit_count_once(aws_resources: Any) -> None:
    # A redelivered message can run beside its first delivery (same claim token). A
    # TransactWriteItems version of this (marker item + update) failed here on moto: 61 of
    # 150 trials of 6 racing threads counted a unit twice or lost it. One conditional
    # UpdateItem per unit does not.
    for _ in range(20):
        job_id = _new_job()
        barrier = threading.Barrier(6)
        results: list[bool] = []

        def apply(job_id: str, barrier: threading.Barrier, results: list[bool]) -> None:
            barrier.wait()
            results.append(job_item_add_counters_once(job_id, "unit", {"images_stored": 1}))

        threads = [
            threading.Thread(target=apply, args=(job_id, barrier, results)) for _ in range(6)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        item = job_item_get(job_id)
        assert item is not None
        assert (results.count(True), item["images_stored"]) == (1, 1)


def test_counts_for_a_deleted_job_are_dropped(aws_resources: Any) -> None:
    job_id = _new_job()
    job_item_delete(job_id)
    assert not job_item_add_counters_once(job_id, "late-batch", {"pages_fetched": 1})
    assert job_item_get(job_id) is None


def test_a_unit_without_counts_is_still_recorded_once(aws_resources: Any) -> None:
    job_id = _new_job()
    assert job_item_add_counters_once(job_id, "empty-batch", {})
    assert not job_item_add_counters_once(job_id, "empty-batch", {})


def test_shard_count_leaves_the_largest_job_room_under_the_item_limit() -> None:
    largest = settings.CRAWL_MAX_PAGES_LIMIT
    shards = counter_shard_count(largest)
    # 32 images a page (the bench job averaged 8.2), a summary and a write batch per page.
    budget_per_shard = largest * (32 + 16 * 33) / shards
    assert budget_per_shard <= SHARD_TARGET_BYTES <= ITEM_LIMIT_BYTES / 3
    assert [counter_shard_count(pages) for pages in (1, 228, 229, 1000, 100_000)] == [
        1,
        1,
        2,
        5,
        438,
    ]
    # Pages averaging 100 images (3x the budget) still fit under the item limit.
    assert largest * (32 + 16 * 101) / shards < ITEM_LIMIT_BYTES


def test_a_unit_goes_to_the_same_shard_in_every_process() -> None:
    # sha1, not hash(): Python salts str hashes per process, which would split a unit's
    # deliveries over different shards and count it twice.
    units = ("batch-a", "img-1", "sum-1", "unit")
    assert [counter_shard_of(unit, 5, layout=1) for unit in units] == [0, 2, 0, 2]
    assert counter_shard_of("img-12345", 438, layout=1) == 378
    # Layout 2: enrichment units go by blocks of UNIT_BLOCK row ids, other units as before.
    assert [counter_shard_of(unit, 5) for unit in units] == [0, 0, 0, 2]
    assert counter_shard_of("img-12345", 438) == counter_shard_of("img-12350", 438) == 433


def test_units_on_many_shards_count_exactly_with_duplicates_interleaved(
    aws_resources: Any,
) -> None:
    job_id = _new_job()
    units = {f"img-{index}": {"images_stored": 1, "image_tokens_in": index} for index in range(300)}
    rng = random.Random(7)
    deliveries = [unit for unit in units for _ in range(rng.randint(1, 3))]
    rng.shuffle(deliveries)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda unit: (unit, job_item_add_counters_once(job_id, unit, units[unit])),
                     deliveries)
        )  # fmt: skip

    added = Counter(unit for unit, was_added in results if was_added)
    assert added == Counter(list(units))  # each unit added by exactly one of its deliveries
    item = job_item_get(job_id)
    assert item is not None
    assert item["images_stored"] == 300
    assert item["image_tokens_in"] == sum(range(300))
    placed = _shard_units(job_id, SHARDS_AT_1000_PAGES)
    assert sorted(placed) == list(range(SHARDS_AT_1000_PAGES))
    for shard, shard_units in placed.items():
        assert shard_units == {u for u in units if counter_shard_of(u, 5) == shard}


def test_job_item_get_adds_the_job_items_own_counters_to_the_shards(aws_resources: Any) -> None:
    job_id = _new_job()
    job_item_add_counters(job_id, {"pages_fetched": 2, "links": 5})
    assert job_item_add_counters_once(job_id, "batch-a", {"pages_fetched": 3, "links": 1})
    assert job_item_add_counters_once(job_id, "sum-1", {"summaries": 1})
    assert job_item_add_counters_once(job_id, "img-1", {"images_stored": 1})
    item = job_item_get(job_id)
    assert item is not None
    assert (item["pages_fetched"], item["links"], item["summaries"], item["images_stored"]) == (
        5,
        6,
        1,
        1,
    )
    assert item["status"] == "QUEUED"
    assert not {"applied_batches", "applied_units", "counters", "counter_shards"} & set(item)


def _add_each(job_id: str, units: list[str]) -> None:
    for unit in units:
        job_item_add_counters_once(job_id, unit, {"images_stored": 1})


def test_more_unit_ids_than_one_item_can_hold_are_counted(aws_resources: Any) -> None:
    # Long ids so that a few hundred adds carry more than 400 KB of ids (real ids are 9-31
    # bytes, so this is the load of ~30,000 real units); each add rewrites a growing item.
    units = [f"img-{index:0996d}" for index in range(480)]
    total_bytes = sum(len(unit) for unit in units)
    assert total_bytes > ITEM_LIMIT_BYTES
    job_id = _new_job()
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(
            pool.map(lambda unit: job_item_add_counters_once(job_id, unit, {"images_stored": 1}),
                     units)
        )  # fmt: skip
    assert all(results)
    item = job_item_get(job_id)
    assert item is not None
    assert item["images_stored"] == len(units)
    placed = _shard_units(job_id, SHARDS_AT_1000_PAGES)
    sizes = [sum(len(unit) for unit in shard_units) for shard_units in placed.values()]
    assert sum(sizes) == total_bytes
    assert max(sizes) < ITEM_LIMIT_BYTES / 2, sizes

    # The same units on one item (the layout before shards) hit the item limit, loudly.
    legacy_id = _new_job_without_shards()
    with pytest.raises(JobCountersFull) as failure:
        _add_each(legacy_id, units)
    assert failure.value.item_id == legacy_id
    job_item_delete(legacy_id)


def test_a_job_item_without_shards_keeps_counting_on_itself(aws_resources: Any) -> None:
    job_id = _new_job_without_shards()
    assert job_item_add_counters_once(job_id, "batch-a", {"pages_fetched": 3})
    assert not job_item_add_counters_once(job_id, "batch-a", {"pages_fetched": 3})
    assert job_item_add_counters_once(job_id, "img-1", {"images_stored": 1})
    item = job_item_get(job_id)
    assert item is not None
    assert (item["pages_fetched"], item["images_stored"]) == (3, 1)
    assert "applied_batches" not in item
    assert _shard_units(job_id, SHARDS_AT_1000_PAGES) == {}
    job_item_delete(job_id)
    assert _raw_item(job_id) is None


def test_delete_removes_the_shards_and_late_units_do_not_recreate_them(
    aws_resources: Any,
) -> None:
    job_id = _new_job()
    for index in range(60):
        assert job_item_add_counters_once(job_id, f"img-{index}", {"images_stored": 1})
    assert len(_shard_units(job_id, SHARDS_AT_1000_PAGES)) == SHARDS_AT_1000_PAGES

    job_item_delete(job_id)

    assert job_item_get(job_id) is None
    assert _shard_units(job_id, SHARDS_AT_1000_PAGES) == {}
    # A late delivery (this process still knows the job's shard count) adds nothing.
    assert not job_item_add_counters_once(job_id, "img-999", {"images_stored": 1})
    assert not job_item_add_counters_once(job_id, "img-1", {"images_stored": 1})
    assert _shard_units(job_id, SHARDS_AT_1000_PAGES) == {}


def _count_updates(calls: list[str]) -> Any:
    def note(**_: Any) -> None:
        calls.append("UpdateItem")

    return note


def test_one_messages_units_are_added_with_one_update_and_a_redelivery_adds_only_new_ones(
    aws_resources: Any,
) -> None:
    job_id = _new_job()
    units = {f"img-{UNIT_BLOCK + i}": {"images_stored": 1, "image_tokens_in": i} for i in range(16)}
    calls: list[str] = []
    events = dynamodb_client().meta.events
    events.register("before-call.dynamodb.UpdateItem", _count_updates(calls), "count-updates")
    try:
        assert job_item_add_counters_many(job_id, units) == 16
        assert len(calls) == 1  # one block of row ids: one shard, one update
        # A redelivery of the message with four more rows finished since.
        more = {f"img-{UNIT_BLOCK + i}": {"images_stored": 1} for i in range(16, 20)}
        assert job_item_add_counters_many(job_id, {**units, **more}) == 4
    finally:
        events.unregister("before-call.dynamodb.UpdateItem", unique_id="count-updates")
    item = job_item_get(job_id)
    assert item is not None
    assert (item["images_stored"], item["image_tokens_in"]) == (20, sum(range(16)))


def test_overlapping_many_deliveries_on_many_shards_count_each_unit_once(
    aws_resources: Any,
) -> None:
    job_id = _new_job()
    units = {f"sum-{index}": {"summaries": 1, "summary_tokens_in": index} for index in range(400)}
    names = list(units)
    rng = random.Random(11)
    deliveries = []
    for _ in range(60):  # messages of 16 consecutive ids, their redeliveries, and follow-ups
        start = rng.randrange(0, 400 - 16)
        deliveries.append(names[start : start + rng.randint(1, 16)])
    deliveries += [names[start : start + 16] for start in range(0, 400, 16)]
    rng.shuffle(deliveries)

    def apply(group: list[str]) -> int:
        return job_item_add_counters_many(job_id, {unit: units[unit] for unit in group})

    with ThreadPoolExecutor(max_workers=4) as pool:
        added = sum(pool.map(apply, deliveries))

    assert added == 400
    item = job_item_get(job_id)
    assert item is not None
    assert (item["summaries"], item["summary_tokens_in"]) == (400, sum(range(400)))
    placed = _shard_units(job_id, SHARDS_AT_1000_PAGES)
    assert set().union(*placed.values()) == set(units)
