"""Waits until an AWS emulator really serves requests; run by the emulator's own Python.

    .venvs/localstack/bin/python scripts/emulator_ready.py localstack PORT TIMEOUT [PID]

localstack: its health lists sqs and s3 as available, then a real SQS call (the first one
loads the provider and takes seconds) and an S3 call succeed. moto: DynamoDB ListTables
succeeds. Exits 0 when ready; otherwise with the last error, once the timeout passes or
the process PID (when given) is gone.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from typing import Any

import boto3
from botocore.config import Config

CONFIG = Config(
    connect_timeout=5,
    read_timeout=60,
    retries={"max_attempts": 1},
    s3={"addressing_style": "path"},
)
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=CONFIG,
    )


def localstack_ready(endpoint: str) -> None:
    with OPENER.open(f"{endpoint}/_localstack/health", timeout=5) as response:
        services = json.load(response).get("services", {})
    states = {name: services.get(name) for name in ("sqs", "s3")}
    if not all(state in ("available", "running") for state in states.values()):
        raise RuntimeError(f"health: {states}")
    _client("sqs", endpoint).list_queues()
    _client("s3", endpoint).list_buckets()


def moto_ready(endpoint: str) -> None:
    _client("dynamodb", endpoint).list_tables()


def _alive(pid: str) -> bool:
    if not pid:
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def main() -> None:
    mode, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    pid = sys.argv[4] if len(sys.argv) > 4 else ""
    check = {"localstack": localstack_ready, "moto": moto_ready}[mode]
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            check(endpoint)
            return
        except Exception as exc:  # noqa: BLE001  # any failure means "not yet"; the last one is reported
            last = f"{type(exc).__name__}: {exc}"
        if not _alive(pid):
            sys.exit(f"process {pid} exited; last error: {last}")
        if time.monotonic() >= deadline:
            sys.exit(f"not ready after {timeout:.0f}s; last error: {last}")
        time.sleep(0.5)


if __name__ == "__main__":
    main()
