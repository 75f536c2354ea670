"""job_state.pace: each job's batches of a paced stage wait in Redis, a window of them
stands in the queue, the window is shared among the jobs, a crashed release is replayed
by the same delivery, and a lost slot frees itself; the enrichment stages are paced the
same way. Real Redis and SQS, in-process."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from config.queues import IMAGE_EXTRACTOR, PAGE_SUMMARIZER, SCRAPER, queue_spec
from isidorus import job_state, publishing
from isidorus.contracts import SUMMARIZE
from isidorus.enrichment.follow_ups import enrichment_release
from isidorus.integrations.queue_heads import QUEUE_HEADS
from isidorus.job_state import pacing
from isidorus.maintenance import reap_stalled_jobs
from isidorus.scrapings.models import JobStatus, Scraping
from isidorus.scrapings.services.enrichment_dispatch import publish_enrichment
from tests.core.conftest import NewJob
from tests.support.batches import WriterDied, fail_once, take_tasks


@pytest.fixture(autouse=True)
def window(settings: Any) -> None:
    settings.CRAWL_PACE_MIN_BATCHES = 2
    settings.CRAWL_PACE_FACTOR = 2.0
    settings.CRAWL_PACE_SLOT_SECONDS = 600
    settings.ENRICHMENT_BATCH_OFFLINE = 16  # rows per summary or image message
    settings.CRAWL_PACE_SMALL_BACKLOG = 0  # on in its own test


def wires(*names: str) -> list[str]:
    return [f'{{"batch":"{name}"}}' for name in names]


def released(job_id: str, token: str, *new: str) -> list[str]:
    batches = job_state.pace(stage=SCRAPER, job_id=job_id, token=token, new=wires(*new))
    job_state.pace_done(SCRAPER, job_id, token)
    return [batch.wire for batch in batches]


def test_a_job_has_at_most_its_window_in_line_and_each_finished_batch_releases_one(
    job_id: str,
) -> None:
    # One scraper process seen (this one): window max(2, 2 x 1 / 1) = 2.
    first = job_state.pace(stage=SCRAPER, job_id=job_id, token="seed", new=wires(*"abcd"))
    job_state.pace_done(SCRAPER, job_id, "seed")
    assert [batch.wire for batch in first] == wires("a", "b")
    assert job_state.held_counts(SCRAPER, [job_id]) == {job_id: 2}
    # A batch in line finishing frees its slot: the next held batch goes.
    assert released(job_id, first[0].task_id) == wires("c")
    # A finished delivery that was never in line (a duplicate copy) frees nothing.
    assert released(job_id, "not-in-line") == []
    assert released(job_id, first[1].task_id, "e") == wires("d")
    assert job_state.held_counts(SCRAPER, [job_id]) == {job_id: 1}


def test_the_window_is_shared_among_the_jobs_paced_recently(redis_clean: Any) -> None:
    big, small = str(uuid.uuid4()), str(uuid.uuid4())
    for job in (big, small):
        job_state.activate(job)
    redis_clean.zadd(pacing.fleet_key(SCRAPER), {f"other-host:{n}": time.time() for n in range(3)})
    # Four scraper processes seen, one job: window 2 x 4 / 1 = 8.
    assert len(released(big, "seed-big", *"abcdefghij")) == 8
    # A second job: the window is now 2 x 4 / 2 = 4 each. The big job is over it, so its
    # finished batch releases nothing; the small one gets its whole first batch at once.
    assert released(small, "seed-small", "s1") == wires("s1")
    line = redis_clean.zrange(pacing.line_key(big, SCRAPER), 0, -1)
    assert released(big, line[0]) == []
    assert job_state.held_counts(SCRAPER, [big, small]) == {big: 2, small: 0}


def test_a_small_backlog_goes_at_once_and_narrows_a_big_jobs_line_to_one_meanwhile(
    redis_clean: Any, settings: Any
) -> None:
    settings.CRAWL_PACE_SMALL_BACKLOG = 3
    small, big = str(uuid.uuid4()), str(uuid.uuid4())
    for job in (small, big):
        job_state.activate(job)
    # Six batches: more than a small backlog, so the window of 2 holds (2 in line, 4 held).
    assert released(big, "seed-big", *[f"b{n}" for n in range(1, 7)]) == wires("b1", "b2")
    # Three in all: the small job's whole backlog is released, over its window of 2.
    assert released(small, "seed-small", "s1", "s2", "s3") == wires("s1", "s2", "s3")
    # While it is active, the big job keeps one batch in line: a finish releases nothing.
    big_line = redis_clean.zrange(pacing.line_key(big, SCRAPER), 0, -1)
    assert released(big, big_line[0]) == []
    # The small job finishes its batches; its last finish takes it off the stage.
    for token in redis_clean.zrange(pacing.line_key(small, SCRAPER), 0, -1):
        assert released(small, token) == []
    assert redis_clean.zcard(pacing.small_jobs_key(SCRAPER)) == 0
    # No small job left: the big job's window is 2 again (1 in line, so one more goes).
    assert released(big, "unrelated") == wires("b3")


def test_a_redelivery_publishes_again_what_its_crashed_run_released(job_id: str) -> None:
    first = job_state.pace(stage=SCRAPER, job_id=job_id, token="t", new=wires(*"abc"))
    # ... the worker died here, before publishing them (no pace_done): SQS redelivers the
    # message, whose run finds its children again (open: admission code R) and paces them.
    again = job_state.pace(stage=SCRAPER, job_id=job_id, token="t", new=wires("a"))
    assert again == first
    job_state.pace_done(SCRAPER, job_id, "t")
    # Done: nothing is replayed.
    assert job_state.pace(stage=SCRAPER, job_id=job_id, token="t", new=[]) == []


def test_a_slot_whose_message_was_lost_frees_itself(job_id: str, settings: Any) -> None:
    settings.CRAWL_PACE_SLOT_SECONDS = 10
    first = released(job_id, "seed", "a", "b", "c")
    assert first == wires("a", "b")  # their messages are then lost: nobody frees the slots
    assert released(job_id, "unrelated") == []
    line = pacing.line_key(job_id, SCRAPER)
    redis = job_state.pacing.get_redis()
    redis.zadd(line, {member: time.time() - 11 for member in redis.zrange(line, 0, -1)})
    assert released(job_id, "unrelated") == wires("c")


def test_a_buried_job_releases_nothing_and_a_reset_forgets_held_and_line(job_id: str) -> None:
    assert released(job_id, "seed", "a", "b", "c") == wires("a", "b")
    assert job_state.line_newest(SCRAPER, job_id) == pytest.approx(time.time(), abs=5)
    job_state.pace_reset(job_id)
    assert job_state.held_counts(SCRAPER, [job_id]) == {job_id: 0}
    assert job_state.line_newest(SCRAPER, job_id) is None
    job_state.bury(job_id)
    assert released(job_id, "seed", "d") == []


@pytest.mark.django_db
def test_the_reaper_leaves_a_job_waiting_in_line_and_reaps_it_once_the_line_stops(
    new_job: NewJob, redis_clean: Any
) -> None:
    job_id = new_job("http://127.0.0.1:9/", depth=1)
    Scraping.objects.filter(pk=job_id).update(status=JobStatus.RUNNING)  # as its launch leaves it
    job_state.open_new(job_id, {"page:a": {"u": "http://127.0.0.1:9/a", "d": 1, "p": ""}})
    released(job_id, "seed", "a")  # its batch stands in line, published just now
    scraper_queue = queue_spec(SCRAPER).name
    now_ms = int(time.time() * 1000)

    def stalled_long_ago() -> None:
        redis_clean.zadd(job_state.ACTIVE_JOBS, {job_id: time.time() - 100})

    # Workers received, a second ago, a message sent before the job's batch: it waits.
    stalled_long_ago()
    redis_clean.hset(QUEUE_HEADS, scraper_queue, f"{now_ms - 10_000}:{now_ms - 1000}")
    assert reap_stalled_jobs(stall_seconds=5) == {job_id: "waiting in line"}
    # The workers have reached the job's batch (the head was sent after it): not waiting.
    redis_clean.hset(QUEUE_HEADS, scraper_queue, f"{now_ms + 1000}:{now_ms + 1000}")
    assert reap_stalled_jobs(stall_seconds=5)[job_id] == "republished"
    # No worker has received anything for longer than the stall time: stalled, not waiting.
    stalled_long_ago()
    redis_clean.hset(QUEUE_HEADS, scraper_queue, f"{now_ms - 10_000}:{now_ms - 9000}")
    assert job_state.line_newest(SCRAPER, job_id) is not None  # the re-publish went through pacing
    assert reap_stalled_jobs(stall_seconds=5)[job_id] == "failed"


@pytest.mark.django_db
def test_a_big_jobs_enrichment_waits_in_its_held_lists_and_a_small_jobs_goes_at_once(
    new_job: NewJob,
) -> None:
    big, small = new_job("http://127.0.0.1:9/"), new_job("http://127.0.0.1:9/")
    # The writer hands over one batch's 160 summaries (10 messages) and 40 images (3).
    publish_enrichment(big, "big-batch", {"summaries": list(range(1, 161)), "images": [*range(40)]})
    # No enrichment process seen yet, and the writer is not one: each stage's window is its
    # minimum, 2. The rest is held, every item already open (the job cannot complete).
    assert job_state.held_counts(PAGE_SUMMARIZER, [big]) == {big: 8}
    assert job_state.held_counts(IMAGE_EXTRACTOR, [big]) == {big: 1}
    assert job_state.open_count(big) == 200
    publish_enrichment(small, "small-batch", {"summaries": [500, 501], "images": []})
    queued = take_tasks(PAGE_SUMMARIZER)
    assert [body["job"] for _, body in queued] == [big, big, small]
    # One of the big job's messages finishes: its slot frees and the next batch goes.
    enrichment_release(SUMMARIZE, big, queued[0][0])
    assert [body["pages"] for _, body in take_tasks(PAGE_SUMMARIZER)] == [[*range(33, 49)]]
    # A finished copy that was never in line (a duplicate delivery) releases nothing more.
    enrichment_release(SUMMARIZE, big, "a-duplicate-copy")
    assert take_tasks(PAGE_SUMMARIZER) == []
    assert len(take_tasks(IMAGE_EXTRACTOR)) == 2


@pytest.mark.django_db
def test_a_writer_that_died_between_pacing_and_publishing_publishes_them_on_its_redelivery(
    new_job: NewJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = new_job("http://127.0.0.1:9/")
    enrichment = {"summaries": list(range(1, 49)), "images": []}
    fail_once(monkeypatch, publishing, "publish_wire")
    with pytest.raises(WriterDied):
        publish_enrichment(job, "batch-1", enrichment)
    assert take_tasks(PAGE_SUMMARIZER) == []  # released, never published
    publish_enrichment(job, "batch-1", enrichment)  # the writer's message, redelivered
    assert [body["pages"][0] for _, body in take_tasks(PAGE_SUMMARIZER)] == [1, 17]


@pytest.mark.django_db
def test_the_reaper_leaves_a_job_waiting_in_an_enrichment_queues_line(
    new_job: NewJob, redis_clean: Any
) -> None:
    job_id = new_job("http://127.0.0.1:9/", depth=1)
    Scraping.objects.filter(pk=job_id).update(status=JobStatus.RUNNING)
    publish_enrichment(job_id, "batch-1", {"summaries": [1, 2], "images": []})
    now_ms = int(time.time() * 1000)
    redis_clean.zadd(job_state.ACTIVE_JOBS, {job_id: time.time() - 100})
    # The summarizers are busy with messages sent before the job's: it waits its turn.
    summaries = queue_spec(PAGE_SUMMARIZER).name
    redis_clean.hset(QUEUE_HEADS, summaries, f"{now_ms - 10_000}:{now_ms - 1000}")
    assert reap_stalled_jobs(stall_seconds=5) == {job_id: "waiting in line"}
    redis_clean.hset(QUEUE_HEADS, summaries, f"{now_ms + 1000}:{now_ms + 1000}")
    assert reap_stalled_jobs(stall_seconds=5)[job_id] == "republished"
