"""Dependency checks for GET /health/. Each check returns None when healthy, else a reason."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection

from config.queues import SCRAPER, queue_name
from isidorus.integrations.aws import dynamodb_client, s3_client, sqs_client
from isidorus.integrations.redis_client import get_redis


def _postgresql() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    get_redis().ping()


def _sqs() -> None:
    sqs_client().get_queue_url(QueueName=queue_name(SCRAPER))


def _dynamodb() -> None:
    dynamodb_client().describe_table(TableName=settings.JOBS_TABLE)


def _s3() -> None:
    s3_client().head_bucket(Bucket=settings.S3_BUCKET)


CHECKS: dict[str, Callable[[], None]] = {
    "postgresql": _postgresql,
    "redis": _redis,
    "sqs": _sqs,
    "dynamodb": _dynamodb,
    "s3": _s3,
}


def _run(check: Callable[[], None]) -> str | None:
    try:
        check()
    except Exception as error:  # noqa: BLE001 - any failure means "down", with its class
        return f"{type(error).__name__}: {str(error)[:200]}"
    return None


# What readiness needs: every API route reads PostgreSQL (keys, jobs) and Redis (limits),
# so a pod that cannot reach them serves only errors. SQS, S3 and DynamoDB are needed by
# some routes only (a start, an image, a running job's counters): a hiccup of one of them
# must not take every pod out of the load balancer, which would also stop the reads of
# finished jobs, the keys and the dashboard that still work.
READINESS_CHECKS = ("postgresql", "redis")


def health_report(names: tuple[str, ...] = tuple(CHECKS)) -> dict[str, dict[str, str]]:
    """Run the checks in parallel, so one slow dependency does not hide the others."""
    remote = {name: CHECKS[name] for name in names if name != "postgresql"}
    # The ORM connection is per-thread; run the database check on the request thread.
    results: dict[str, str | None] = {}
    if "postgresql" in names:
        results["postgresql"] = _run(CHECKS["postgresql"])
    with ThreadPoolExecutor(max_workers=max(1, len(remote))) as pool:
        futures = {name: pool.submit(_run, check) for name, check in remote.items()}
        results.update({name: future.result() for name, future in futures.items()})
    return {
        name: ({"status": "ok"} if error is None else {"status": "down", "error": error})
        for name, error in results.items()
    }
