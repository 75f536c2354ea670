"""Smoke tasks: prove a message travels through each queue and back out.

They record what happened in Redis (`smoke:<token>`), so callers need no result backend.
"""

from __future__ import annotations

import json
import os
import socket
import time

from isidorus.contracts import SMOKE_FAIL, SMOKE_PING, SMOKE_RELAY, SMOKE_SLEEP
from isidorus.integrations.redis_client import get_redis
from tasks.base import IsidorusTask, bound_task, queue_of

SMOKE_TTL_SECONDS = 3600


def _record(token: str, event: dict[str, object]) -> None:
    redis = get_redis()
    key = f"smoke:{token}"
    redis.rpush(key, json.dumps(event, sort_keys=True))
    redis.expire(key, SMOKE_TTL_SECONDS)


def _arrival(task: IsidorusTask, token: str, stage: str, previous: str | None) -> str:
    delivery = task.request.delivery_info or {}
    queue = delivery.get("routing_key") or delivery.get("sqs_queue", "").rsplit("/", 1)[-1]
    _record(
        token,
        {
            "stage": stage,
            "queue": queue,
            "previous": previous,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        },
    )
    return f"{stage}@{queue}"


@bound_task(name=SMOKE_PING.name, queue=queue_of(SMOKE_PING))
def smoke_ping(self: IsidorusTask, token: str, stage: str) -> str:
    return _arrival(self, token, stage, None)


@bound_task(name=SMOKE_RELAY.name, queue=queue_of(SMOKE_RELAY))
def smoke_relay(self: IsidorusTask, previous: str, token: str, stage: str) -> str:
    """The second link of a chain: receives the first task's return value."""
    return _arrival(self, token, stage, previous)


@bound_task(name=SMOKE_SLEEP.name, queue=queue_of(SMOKE_SLEEP))
def smoke_sleep(self: IsidorusTask, token: str, seconds: float) -> None:
    redis = get_redis()
    redis.incr(f"smoke:{token}:attempts")
    redis.expire(f"smoke:{token}:attempts", SMOKE_TTL_SECONDS)
    _record(token, {"event": "started", "pid": os.getpid()})
    time.sleep(seconds)
    _record(token, {"event": "finished", "pid": os.getpid()})


@bound_task(name=SMOKE_FAIL.name, queue=queue_of(SMOKE_FAIL))
def smoke_fail(self: IsidorusTask, token: str) -> None:
    redis = get_redis()
    redis.incr(f"smoke:{token}:attempts")
    redis.expire(f"smoke:{token}:attempts", SMOKE_TTL_SECONDS)
    raise RuntimeError(f"smoke task {token} always fails")
