"""Open work items: opened before their message is published, claimed by one delivery
at a time, closed only after their final write is durable (docs/completion.md)."""

from __future__ import annotations

import json
import time
from typing import Any

from isidorus.integrations.redis_client import as_text, get_redis
from isidorus.job_state.codes import Admission as Code
from isidorus.job_state.codes import Result
from isidorus.job_state.keys import ACTIVE_JOBS, job_key, tombstone_key
from isidorus.job_state.lifecycle import JobStateLost
from isidorus.job_state.scripts import run


def claim(*, job_id: str, items: list[str], token: str, ttl: int) -> dict[str, dict[str, Any]]:
    """Claim open items for this delivery; returns the payloads of those it may work on.

    An item that is closed, or claimed by another delivery still within its lease, is
    left out: its message is a duplicate.
    """
    if not items:
        return {}
    keys = [job_key(job_id, "open"), tombstone_key(job_id), job_key(job_id, "state")]
    keys += [job_key(job_id, f"claim:{item}") for item in items]
    payloads = run("claim", keys, [ttl, token, *items])
    if payloads == [Code.LOST]:
        raise JobStateLost(job_id)
    return {
        item: json.loads(payload) for item, payload in zip(items, payloads, strict=True) if payload
    }


def release_claims(*, job_id: str, items: list[str]) -> None:
    if items:
        get_redis().delete(*[job_key(job_id, f"claim:{item}") for item in items])


def close(*, job_id: str, items: list[str]) -> int:
    """Close items (idempotent); returns how many items are still open (-1: job buried).

    Their claims go with them: a closed item's duplicate is dropped because it is not open,
    so a claim kept until its lease ran out was only memory (200 bytes a page)."""
    keys = [job_key(job_id, "open"), job_key(job_id, "state"), ACTIVE_JOBS, tombstone_key(job_id)]
    keys.append(job_key(job_id, "dups"))
    keys += [job_key(job_id, f"claim:{item}") for item in items]
    remaining = int(run("close", keys, [time.time(), job_id, *items]))
    if remaining == Result.LOST:
        raise JobStateLost(job_id)
    return remaining


def open_items(job_id: str) -> dict[str, dict[str, Any]]:
    raw = get_redis().hgetall(job_key(job_id, "open"))
    return {as_text(item): json.loads(payload) for item, payload in raw.items()}


def which_open(job_id: str, items: list[str]) -> set[str]:
    """The `items` that are open, in one command."""
    return set(_open_raw(job_id, items))


def open_payloads(job_id: str, items: list[str]) -> dict[str, dict[str, Any]]:
    """The payloads of the `items` that are open, in one command."""
    return {item: json.loads(raw) for item, raw in _open_raw(job_id, items).items()}


def _open_raw(job_id: str, items: list[str]) -> dict[str, Any]:
    if not items:
        return {}
    found = get_redis().hmget(job_key(job_id, "open"), items)
    return {item: raw for item, raw in zip(items, found, strict=True) if raw is not None}


def open_new(job_id: str, items: dict[str, dict[str, Any]]) -> None:
    """Open items (open-before-publish). Re-opening an open item only rewrites its payload."""
    args: list[str] = []
    for item, payload in items.items():
        args += [item, json.dumps(payload, separators=(",", ":"))]
    if args:
        run("guarded_hset_many", [tombstone_key(job_id), job_key(job_id, "open")], args)


def is_open(job_id: str, item: str) -> bool:
    return bool(get_redis().hexists(job_key(job_id, "open"), item))


def open_count(job_id: str) -> int:
    return int(get_redis().hlen(job_key(job_id, "open")))


def open_by_kind(job_id: str) -> dict[str, int]:
    """How many items of each kind (items.py names) the job holds open."""
    flat = run("open_by_kind", [job_key(job_id, "open")], [])
    return {as_text(kind): int(count) for kind, count in zip(flat[::2], flat[1::2], strict=True)}
