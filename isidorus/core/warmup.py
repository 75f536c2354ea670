"""Prepare a worker process before its first task: open its clients, tune its GC.

boto3 and kombu clients load their service models when created; created lazily, the
first task of every pool process would pay for them inside its time limit. Prefork
children call this once, right after the fork (config/celery.py). A failure here is only
logged: the same clients are created on first use anyway. Once warm, the process freezes
what it holds (never scanned by the GC again) and collects the young generation less
often. Measurements: docs/design-notes.md, "Worker warm-up".
"""

from __future__ import annotations

import gc
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celery import Celery

logger = logging.getLogger(__name__)


def warm_worker_process(app: Celery) -> None:
    """Open the process's clients (`app` is the worker's Celery app)."""
    from django.db import connection

    from isidorus.integrations.aws import aws_client
    from isidorus.integrations.redis_client import get_redis

    try:
        for service in ("sqs", "s3", "dynamodb"):
            aws_client(service)
        with app.producer_or_acquire() as producer:
            # Resolving the channel opens kombu's connection and its SQS client.
            producer.channel  # noqa: B018
        get_redis().ping()
        connection.ensure_connection()
    except Exception:  # best effort: see the module docstring
        logger.warning("warming the worker's clients failed; they open on first use", exc_info=True)
    _tune_garbage_collection()


# Young generation every 50,000 net allocations (CPython: 700), the middle one every 20 of
# those (10), the oldest every 100 of those (10; CPython also waits until the long-lived
# objects have grown by a quarter).
GC_THRESHOLDS = (50_000, 20, 100)


def _tune_garbage_collection() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
