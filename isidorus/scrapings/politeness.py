"""Per-host politeness shared by every worker through Redis.

A host has at most CRAWL_HOST_CONCURRENCY requests in flight (leases that expire, so a
killed worker cannot hold a slot forever) and, optionally, a minimum delay between
request starts (CRAWL_HOST_DELAY, or the robots.txt Crawl-delay when larger).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from redis.commands.core import Script

from isidorus.integrations.redis_client import get_redis

_ACQUIRE = """
local slots, next_key = KEYS[1], KEYS[2]
local now, lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local token, delay = ARGV[4], tonumber(ARGV[5])
if KEYS[3] and redis.call('EXISTS', KEYS[3]) == 1 then return '-1' end
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
if redis.call('ZCARD', slots) >= limit then return '0.02' end
local next_at = tonumber(redis.call('GET', next_key) or '0')
if now < next_at then return tostring(next_at - now) end
redis.call('ZADD', slots, now + lease, token)
redis.call('EXPIRE', slots, math.ceil(lease) + 1)
if delay > 0 then
  redis.call('SET', next_key, tostring(now + delay), 'PX', math.ceil(delay * 1000) + 1000)
end
return '0'
"""

_script_holder: list[Script] = []


def _acquire_script() -> Script:
    if not _script_holder:
        _script_holder.append(get_redis().register_script(_ACQUIRE))
    return _script_holder[0]


class HostBusy(Exception):
    pass


class StopRequested(Exception):
    """The `stop_key` given to host_slot exists (for example, the job was cancelled)."""


@contextmanager
def host_slot(
    host: str,
    *,
    limit: int,
    delay: float,
    lease_seconds: float,
    wait_until: float,
    stop_key: str | None = None,
) -> Iterator[None]:
    """Hold one of the host's request slots; raise HostBusy if none frees up in time, and
    StopRequested if `stop_key` exists (checked in the same round trip as the slot)."""
    token = uuid.uuid4().hex
    slots, next_key = f"host:{{{host}}}:slots", f"host:{{{host}}}:next"
    keys = [slots, next_key] if stop_key is None else [slots, next_key, stop_key]
    script = _acquire_script()
    while True:
        wait = float(
            script(
                keys=keys,
                args=[time.time(), lease_seconds, limit, token, delay],
                client=get_redis(),
            )
        )
        if wait < 0:
            raise StopRequested(stop_key)
        if wait == 0:
            break
        if time.monotonic() + wait > wait_until:
            raise HostBusy(host)
        time.sleep(min(wait, 1.0))
    try:
        yield
    finally:
        get_redis().zrem(slots, token)
