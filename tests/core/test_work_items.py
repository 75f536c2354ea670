"""Claims, closing, opening, flags and the tombstone of job_state: what makes a duplicate
delivery harmless and lets exactly one closer see the job's open set empty. Real Redis."""

from __future__ import annotations

import time
from typing import Any

import pytest

from isidorus import job_state

TTL = 30


def key(job_id: str, name: str) -> str:
    return f"job:{{{job_id}}}:{name}"


def payload(name: str) -> dict[str, Any]:
    return {"u": f"http://example.com/{name}", "d": 1, "p": ""}


def open_pages(job_id: str, *names: str) -> list[str]:
    items = {f"page:{name}": payload(name) for name in names}
    job_state.open_new(job_id, items)
    return list(items)


def claim(job_id: str, items: list[str], token: str, ttl: int = TTL) -> dict[str, Any]:
    return job_state.claim(job_id=job_id, items=items, token=token, ttl=ttl)


def test_a_first_claim_returns_the_open_payloads_and_holds_a_lease(
    job_id: str, redis_clean: Any
) -> None:
    items = open_pages(job_id, "a", "b")
    assert claim(job_id, items, "delivery-1") == {
        "page:a": payload("a"),
        "page:b": payload("b"),
    }
    lease = key(job_id, "claim:page:a")
    assert redis_clean.get(lease) == "delivery-1"
    assert 0 < redis_clean.ttl(lease) <= TTL
    assert job_state.open_count(job_id) == 2  # claiming does not close


def test_a_duplicate_delivery_with_another_token_is_dropped_while_the_lease_holds(
    job_id: str, redis_clean: Any
) -> None:
    items = open_pages(job_id, "a")
    claim(job_id, items, "delivery-1")
    assert claim(job_id, items, "delivery-2") == {}
    assert redis_clean.get(key(job_id, "claim:page:a")) == "delivery-1"


def test_the_same_delivery_claims_its_items_again(job_id: str) -> None:
    """A task retried by its own worker keeps its message id: it may go on."""
    items = open_pages(job_id, "a")
    claim(job_id, items, "delivery-1")
    assert claim(job_id, items, "delivery-1") == {"page:a": payload("a")}


def test_an_expired_lease_lets_another_delivery_claim(job_id: str, redis_clean: Any) -> None:
    items = open_pages(job_id, "a")
    claim(job_id, items, "dead-worker", ttl=1)
    assert redis_clean.ttl(key(job_id, "claim:page:a")) == 1
    redis_clean.pexpire(key(job_id, "claim:page:a"), 1)  # fast-forward the lease's second
    time.sleep(0.01)
    assert claim(job_id, items, "redelivery") == {"page:a": payload("a")}
    assert redis_clean.get(key(job_id, "claim:page:a")) == "redelivery"


def test_a_claim_leaves_out_closed_and_foreign_items_and_keeps_the_rest(job_id: str) -> None:
    items = open_pages(job_id, "a", "b", "c")
    claim(job_id, ["page:b"], "other-delivery")
    job_state.close(job_id=job_id, items=["page:c"])
    assert claim(job_id, [*items, "page:never-opened"], "delivery-1") == {"page:a": payload("a")}


def test_a_closed_item_is_not_claimed_and_gets_no_lease(job_id: str, redis_clean: Any) -> None:
    items = open_pages(job_id, "a")
    job_state.close(job_id=job_id, items=items)
    assert claim(job_id, items, "late-duplicate") == {}
    assert not redis_clean.exists(key(job_id, "claim:page:a"))


def test_closing_an_item_drops_its_claim_and_its_duplicate_still_gets_nothing(
    job_id: str, redis_clean: Any
) -> None:
    items = open_pages(job_id, "a", "b")
    claim(job_id, items, "delivery-1")
    job_state.close(job_id=job_id, items=["page:a"])
    assert not redis_clean.exists(key(job_id, "claim:page:a"))
    assert redis_clean.get(key(job_id, "claim:page:b")) == "delivery-1"  # still open
    assert claim(job_id, items, "duplicate") == {}


def test_released_claims_can_be_taken_at_once_by_another_delivery(job_id: str) -> None:
    """A scrape that re-publishes a URL to retry it releases the URL's claim first."""
    items = open_pages(job_id, "a", "b")
    claim(job_id, items, "delivery-1")
    job_state.release_claims(job_id=job_id, items=["page:a"])
    assert claim(job_id, items, "retry") == {"page:a": payload("a")}
    job_state.release_claims(job_id=job_id, items=[])  # nothing to release is fine


def test_a_buried_job_grants_no_claim(job_id: str, redis_clean: Any) -> None:
    items = open_pages(job_id, "a")
    job_state.bury(job_id)
    assert claim(job_id, items, "delivery-1") == {}
    assert not redis_clean.exists(key(job_id, "claim:page:a"))


def test_a_buried_job_grants_no_claim_even_once_its_state_is_deleted(job_id: str) -> None:
    items = open_pages(job_id, "a")
    job_state.bury(job_id)
    job_state.delete_state(job_id)
    assert claim(job_id, items, "delivery-1") == {}


def test_claiming_for_a_job_whose_state_is_gone_raises_state_lost(redis_clean: Any) -> None:
    with pytest.raises(job_state.JobStateLost):
        claim("never-launched", ["page:a"], "delivery-1")
    assert claim("never-launched", [], "delivery-1") == {}


def test_close_returns_how_many_items_remain_open(job_id: str) -> None:
    open_pages(job_id, "a", "b", "c")
    assert job_state.close(job_id=job_id, items=["page:a"]) == 2
    assert job_state.close(job_id=job_id, items=["page:b", "page:c"]) == 0
    assert job_state.open_items(job_id) == {}


def test_closing_again_is_idempotent_and_records_no_progress(job_id: str, redis_clean: Any) -> None:
    open_pages(job_id, "a", "b")
    assert job_state.close(job_id=job_id, items=["page:a"]) == 1
    progress = redis_clean.hget(key(job_id, "state"), "progress_at")
    score = redis_clean.zscore(job_state.ACTIVE_JOBS, job_id)
    time.sleep(0.01)
    assert job_state.close(job_id=job_id, items=["page:a"]) == 1
    assert redis_clean.hget(key(job_id, "state"), "progress_at") == progress
    assert redis_clean.zscore(job_state.ACTIVE_JOBS, job_id) == score
    assert job_state.open_items(job_id) == {"page:b": payload("b")}


def test_closing_an_item_records_progress_for_the_stall_reaper(
    job_id: str, redis_clean: Any
) -> None:
    open_pages(job_id, "a")
    redis_clean.zadd(job_state.ACTIVE_JOBS, {job_id: 1.0})
    redis_clean.hset(key(job_id, "state"), "progress_at", "1.0")
    before = time.time()
    job_state.close(job_id=job_id, items=["page:a"])
    assert float(redis_clean.hget(key(job_id, "state"), "progress_at")) >= before
    assert redis_clean.zscore(job_state.ACTIVE_JOBS, job_id) >= before
    assert job_state.stalled_jobs(older_than_seconds=60) == []


def test_closing_for_a_finished_job_does_not_put_it_back_on_the_active_list(
    job_id: str, redis_clean: Any
) -> None:
    open_pages(job_id, "a")
    job_state.deactivate(job_id)
    job_state.close(job_id=job_id, items=["page:a"])
    assert redis_clean.zscore(job_state.ACTIVE_JOBS, job_id) is None


def test_closing_for_a_buried_job_changes_nothing_and_returns_minus_one(job_id: str) -> None:
    items = open_pages(job_id, "a")
    job_state.bury(job_id)
    assert job_state.close(job_id=job_id, items=items) == -1
    assert job_state.is_open(job_id, "page:a")


def test_closing_for_a_job_whose_state_is_gone_raises_state_lost(redis_clean: Any) -> None:
    with pytest.raises(job_state.JobStateLost):
        job_state.close(job_id="never-launched", items=["page:a"])


def test_open_new_opens_items_and_reopening_rewrites_only_the_payload(job_id: str) -> None:
    job_state.open_new(job_id, {"summary:7": {"k": "summary", "id": 7}})
    assert job_state.is_open(job_id, "summary:7")
    assert not job_state.is_open(job_id, "summary:8")
    job_state.open_new(job_id, {"summary:7": {"k": "summary", "id": 7, "a": 1}})
    assert job_state.open_items(job_id) == {"summary:7": {"k": "summary", "id": 7, "a": 1}}
    assert job_state.open_count(job_id) == 1
    job_state.open_new(job_id, {})  # nothing to open is fine


def test_open_new_for_a_buried_job_opens_nothing(job_id: str) -> None:
    job_state.bury(job_id)
    job_state.open_new(job_id, {"summary:7": {"k": "summary", "id": 7}})
    assert job_state.open_count(job_id) == 0


def test_a_flag_is_set_once_and_only_its_first_setter_is_told_so(job_id: str) -> None:
    assert not job_state.get_flag(job_id, job_state.Flag.RUNNING)
    assert job_state.set_flag(job_id, job_state.Flag.RUNNING) is True
    assert job_state.set_flag(job_id, job_state.Flag.RUNNING) is False
    assert job_state.get_flag(job_id, job_state.Flag.RUNNING)


def test_a_buried_job_takes_no_flag_and_reads_as_stopped(job_id: str) -> None:
    assert not job_state.get_flag(job_id, job_state.Flag.STOPPED)
    job_state.bury(job_id)
    assert job_state.is_buried(job_id)
    assert job_state.set_flag(job_id, job_state.Flag.RUNNING) is False
    assert not job_state.get_flag(job_id, job_state.Flag.RUNNING)
    assert job_state.get_flag(job_id, job_state.Flag.STOPPED)


def test_the_tombstone_outlives_the_jobs_state_and_expires_in_a_week(
    job_id: str, redis_clean: Any
) -> None:
    job_state.bury(job_id)
    job_state.delete_state(job_id)
    assert job_state.job_keys(job_id) == []
    assert not job_state.state_exists(job_id)
    assert job_state.is_buried(job_id)
    ttl = redis_clean.ttl(job_state.tombstone_key(job_id))
    assert job_state.TOMBSTONE_SECONDS - 5 < ttl <= job_state.TOMBSTONE_SECONDS


def test_activate_after_burial_does_not_resurrect_the_job(job_id: str, redis_clean: Any) -> None:
    job_state.bury(job_id)
    job_state.delete_state(job_id)
    job_state.activate(job_id)
    assert not job_state.state_exists(job_id)
    assert redis_clean.zscore(job_state.ACTIVE_JOBS, job_id) is None


def test_open_items_are_counted_by_kind_for_progress(job_id: str, redis_clean: Any) -> None:
    from isidorus.scrapings.progress import job_progress_of

    open_pages(job_id, "a", "b", "c")
    job_state.open_new(
        job_id,
        {"summary:1": {}, "summary:2": {}, "image:9": {}, f"expand:{'f' * 8}:2": {}},
    )
    job_state.close(job_id=job_id, items=["page:c"])
    assert job_state.open_by_kind(job_id) == {"page": 2, "summary": 2, "image": 1, "expand": 1}
    progress = job_progress_of(
        job_id, pages_done=5, enrichment={"summaries": 4, "images_failed": 1}, terminal=False
    )
    assert (progress.pages.done, progress.pages.open, progress.pages.admitted) == (5, 3, 8)
    assert (progress.enrichment.done, progress.enrichment.admitted) == (5, 8)
    finished = job_progress_of(job_id, pages_done=5, enrichment={}, terminal=True)
    assert (finished.pages.open, finished.enrichment.open) == (0, 0)
