"""One Redis client per process (and per URL, so tests can point at another server)."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=5,
        socket_timeout=10,
        health_check_interval=30,
        retry_on_timeout=True,
    )


def get_redis() -> redis.Redis:
    return _client_for(settings.REDIS_URL)


def as_text(value: bytes | str) -> str:
    """A reply as text. The client decodes replies (decode_responses), so this only
    narrows redis-py's declared `bytes | str`."""
    return value if isinstance(value, str) else value.decode()


# Job state (open work items, seen URLs, leases) must never be evicted: a lost key is a
# silently wrong completion. Only noeviction guarantees it; volatile-* policies evict
# keys that have a TTL, and some job keys have one.
SAFE_EVICTION_POLICIES = frozenset({"noeviction"})


def eviction_problem(client: redis.Redis) -> str | None:
    """Why this Redis may lose job state, or None. A server that refuses CONFIG (some
    managed ones do) cannot be checked here: its policy is the operator's to set."""
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except redis.ResponseError:
        return None
    if policy is None or policy in SAFE_EVICTION_POLICIES:
        return None
    return (
        f"Redis's maxmemory-policy is {policy!r}, which may evict a job's state and end jobs "
        "wrongly; set maxmemory-policy noeviction (redis.conf, or CONFIG SET maxmemory-policy "
        "noeviction) and start again"
    )
