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


def health_report() -> dict[str, dict[str, str]]:
    """Run the checks in parallel, so one slow dependency does not hide the others."""
    remote = {name: check for name, check in CHECKS.items() if name != "postgresql"}
    # The ORM connection is per-thread; run the database check on the request thread.
    results: dict[str, str | None] = {"postgresql": _run(CHECKS["postgresql"])}
    with ThreadPoolExecutor(max_workers=len(remote)) as pool:
        futures = {name: pool.submit(_run, check) for name, check in remote.items()}
        results.update({name: future.result() for name, future in futures.items()})
    return {
        name: ({"status": "ok"} if error is None else {"status": "down", "error": error})
        for name, error in results.items()
    }
