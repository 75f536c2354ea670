"""Per-owner limits in Redis, shared by every API process.

Counts are per owner, not per key, so more keys do not multiply an owner's allowance.
A fixed window is used: one atomic INCR+EXPIRE per request, and Retry-After is the time
left in the window.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from isidorus.integrations.redis_client import get_redis
from isidorus.job_state.scripts import run


@dataclass(frozen=True)
class LimitDecision:
    allowed: bool
    retry_after: int


def hit_window(*, name: str, owner_id: int, limit: int, window_seconds: int) -> LimitDecision:
    """Count one event in the current window; refuse it if the window is full."""
    now = time.time()
    window = int(now // window_seconds)
    key = f"limit:{name}:{owner_id}:{window}"
    count = int(run("window_count", [key], [window_seconds + 1]))
    retry_after = max(1, int((window + 1) * window_seconds - now) + 1)
    return LimitDecision(allowed=count <= limit, retry_after=retry_after)


def daily_quota_key(owner_id: int, day: datetime | None = None) -> str:
    day = day or datetime.now(UTC)
    return f"quota:pages:{owner_id}:{day:%Y%m%d}"


def seconds_until_utc_midnight(now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() + 86400
    return max(1, int(midnight - now.timestamp()))


def daily_pages_used(owner_id: int) -> int:
    return int(get_redis().get(daily_quota_key(owner_id)) or 0)


def slot_take(*, name: str, owner_id: int, limit: int, lease_seconds: int) -> str | None:
    """Take one of an owner's `limit` slots for a long request; None if all are taken.

    Slots are members of a sorted set scored by their last refresh: a slot whose holder
    died without giving it back frees itself `lease_seconds` after that.
    """
    key = f"slots:{name}:{owner_id}"
    token = uuid.uuid4().hex
    now = time.time()
    pipe = get_redis().pipeline(transaction=True)
    pipe.zremrangebyscore(key, 0, now - lease_seconds)
    pipe.zadd(key, {token: now})
    pipe.zcard(key)
    pipe.expire(key, lease_seconds)
    taken = int(pipe.execute()[2])
    if taken > limit:
        get_redis().zrem(key, token)
        return None
    return token


def slot_refresh(*, name: str, owner_id: int, token: str) -> None:
    get_redis().zadd(f"slots:{name}:{owner_id}", {token: time.time()}, xx=True)


def slot_give_back(*, name: str, owner_id: int, token: str) -> None:
    get_redis().zrem(f"slots:{name}:{owner_id}", token)
