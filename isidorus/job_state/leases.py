"""Leases (a key held by one token until released or expired, so a dead holder's lease
frees itself) and the per-job robots.txt cache."""

from __future__ import annotations

from isidorus.integrations.redis_client import get_redis
from isidorus.job_state.keys import job_key, tombstone_key
from isidorus.job_state.scripts import run


def lease_acquire(job_id: str, name: str, token: str, ttl: int) -> bool:
    """Hold the job's `name` lease (SET NX with a TTL)."""
    return bool(get_redis().set(job_key(job_id, f"lease:{name}"), token, nx=True, ex=ttl))


def lease_release(job_id: str, name: str, token: str) -> None:
    release_key(job_key(job_id, f"lease:{name}"), token)


def hold_key(key: str, token: str, ttl: int) -> bool:
    """Hold `key` for `token` (re-entrant for the same token; the TTL restarts)."""
    return bool(run("hold_lease", [key], [token, ttl]))


def release_key(key: str, token: str) -> None:
    """Release `key` if `token` holds it."""
    run("release_if_held", [key], [token])


def robots_get(job_id: str, host: str) -> str | None:
    value = get_redis().hget(job_key(job_id, "robots"), host)
    return None if value is None else str(value)


def robots_put(job_id: str, host: str, value: str) -> str:
    """Store robots.txt for a host once per job; returns the stored value (first writer wins)."""
    key = job_key(job_id, "robots")
    run("guarded_hsetnx", [tombstone_key(job_id), key], [host, value])
    stored = get_redis().hget(key, host)
    return value if stored is None else str(stored)


def robots_lock(job_id: str, host: str, ttl: int) -> bool:
    keys = [tombstone_key(job_id), job_key(job_id, f"robots-lock:{host}")]
    return int(run("guarded_set_nx", keys, [ttl])) == 1
