"""A job's state from launch to deletion: active (watched by the reaper), buried
(cancelled or deleted: late work changes nothing), lost (Redis lost it)."""

from __future__ import annotations

import time

from isidorus.integrations.redis_client import get_redis
from isidorus.job_state.keys import ACTIVE_JOBS, job_key, job_key_pattern, tombstone_key
from isidorus.job_state.scripts import run

TOMBSTONE_SECONDS = 7 * 24 * 3600
STATE_LOST_REASON = (
    "the job's state in Redis was lost (Redis restarted without persistence?); "
    "its completion can no longer be proven"
)


class JobStateLost(Exception):
    """The job's Redis state vanished mid-run. Completing would risk missing pages."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"state of job {job_id} is gone from Redis")
        self.job_id = job_id


def state_exists(job_id: str) -> bool:
    return bool(get_redis().exists(job_key(job_id, "state")))


def bury(job_id: str) -> None:
    """Mark a job cancelled or deleted: from now on, late work for it changes nothing."""
    get_redis().set(tombstone_key(job_id), "1", ex=TOMBSTONE_SECONDS)


def is_buried(job_id: str) -> bool:
    return bool(get_redis().exists(tombstone_key(job_id)))


def activate(job_id: str) -> None:
    keys = [tombstone_key(job_id), job_key(job_id, "state"), ACTIVE_JOBS]
    run("guarded_activate", keys, [time.time(), job_id])


def deactivate(job_id: str) -> None:
    get_redis().zrem(ACTIVE_JOBS, job_id)


def republish_once(job_id: str) -> bool:
    """True if the job has progressed since its last re-publish (or never had one).

    Re-publishing resets the stall clock but not the progress mark, so a job that stalls
    again without closing anything is seen here as already re-published.
    """
    state = job_key(job_id, "state")
    redis = get_redis()
    progress = redis.hget(state, "progress_at")
    if redis.hget(state, "republished_for") == progress:
        return False
    redis.hset(state, "republished_for", progress or "")
    redis.zadd(ACTIVE_JOBS, {job_id: time.time()}, xx=True)
    return True


def stalled_jobs(older_than_seconds: float) -> list[str]:
    cutoff = time.time() - older_than_seconds
    return [str(job) for job in get_redis().zrangebyscore(ACTIVE_JOBS, "-inf", cutoff)]


def job_keys(job_id: str) -> list[str]:
    redis = get_redis()
    return [str(key) for key in redis.scan_iter(match=job_key_pattern(job_id), count=1000)]


def expire_state(job_id: str, seconds: int) -> int:
    """Let the job's keys (not its tombstone) expire `seconds` from now; returns how many."""
    keys = job_keys(job_id)
    pipe = get_redis().pipeline(transaction=False)
    for key in keys:
        pipe.expire(key, seconds)
    pipe.execute()
    return len(keys)


def delete_state(job_id: str) -> None:
    keys = job_keys(job_id)
    if keys:
        get_redis().delete(*keys)
    deactivate(job_id)
