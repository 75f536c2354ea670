"""Workers refuse a Redis that may evict job state (a real redis-server of the test's own)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis

from config.queues import WRITER, queue_name
from isidorus.integrations.redis_client import eviction_problem
from tests.support.redis_server import OwnRedis

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-ttl"])
def test_a_worker_will_not_start_on_a_redis_that_evicts(
    policy: str, tmp_path: Path, worker_env: dict[str, str]
) -> None:
    server = OwnRedis(tmp_path, persistent=False, policy=policy).start()
    try:
        assert "maxmemory-policy noeviction" in (
            eviction_problem(redis.Redis.from_url(server.url)) or ""
        )
        worker = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue_name(WRITER),
             "--pool", "solo", "--without-heartbeat", "--without-mingle", "--without-gossip"],
            cwd=REPO_ROOT, env={**worker_env, "REDIS_URL": server.url},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        server.stop()
    assert worker.returncode != 0
    assert f"maxmemory-policy is '{policy}'" in worker.stderr


def test_noeviction_is_accepted(tmp_path: Path) -> None:
    server = OwnRedis(tmp_path, persistent=False).start()
    try:
        assert eviction_problem(redis.Redis.from_url(server.url)) is None
    finally:
        server.stop()
