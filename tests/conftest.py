from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from django.conf import settings

from config.queues import all_queue_specs
from isidorus.integrations.aws import sqs_client
from isidorus.integrations.bootstrap import aws_bootstrap
from isidorus.integrations.redis_client import get_redis
from tests.support.workers import WorkerProcess


@pytest.fixture(scope="session")
def aws_resources() -> dict[str, str]:
    """Create the test namespace's queues, table and bucket once, then empty the queues."""
    report = aws_bootstrap()
    sqs = sqs_client()
    for url in report.queues.values():
        try:
            sqs.purge_queue(QueueUrl=url)
        except ClientError as error:
            if error.response["Error"]["Code"] != "AWS.SimpleQueueService.PurgeQueueInProgress":
                raise
    return report.queues


@pytest.fixture
def redis_clean() -> Iterator[Any]:
    redis = get_redis()
    redis.flushdb()
    yield redis
    redis.flushdb()


@pytest.fixture
def worker_env(django_db_setup: None) -> dict[str, str]:
    """The environment of a worker process: the test settings, on the test database."""
    database = settings.DATABASES["default"]
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"postgresql://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
    }


@pytest.fixture
def start_worker(aws_resources: dict[str, str], worker_env: dict[str, str]) -> Iterator[Any]:
    started: list[WorkerProcess] = []

    def start(
        *,
        stages: list[str] | None = None,
        name: str = "worker",
        concurrency: int = 2,
        env: dict[str, str] | None = None,
        wait: bool = True,
        wrapper: list[str] | None = None,
    ) -> WorkerProcess:
        """Start a worker; with wait=False, only launch it (call its wait_ready() later)."""
        names = [spec.name for spec in all_queue_specs() if stages is None or spec.stage in stages]
        worker = WorkerProcess(
            queues=names, name=name, env={**worker_env, **(env or {})}, concurrency=concurrency,
            wrapper=wrapper,
        )  # fmt: skip
        started.append(worker)
        return worker.start() if wait else worker.launch()

    yield start
    for worker in started:
        worker.stop()
