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
