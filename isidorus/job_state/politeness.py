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

from isidorus.integrations.redis_client import get_redis
from isidorus.job_state.scripts import run


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
    while True:
        wait = float(run("host_slot", keys, [time.time(), lease_seconds, limit, token, delay]))
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
