"""Prepare a worker process before its first task: open its clients, tune its GC.

A boto3 client loads its service model from JSON when it is created (about 0.1-0.3 s of
CPU each), and kombu's SQS channel creates one more client of its own. Created lazily,
they are paid for by the first task of every pool process: inside that task's time limit
and on the clock of whichever job it belongs to. Prefork children call this once, right
after the fork (config/celery.py). A failure here is only logged: the same clients are
created on first use anyway, and a task reports a real outage with its own error.

Garbage collection: a worker holds about 400,000 long-lived objects (Django, botocore's
service models, Celery) and allocates fast (parsing, staging), so CPython's default
thresholds ran ~600 collections per 1,000 pages that re-walked them. In the crawl bench
(bench/crawl_bench.py, 2,000 pages) that was 1.5 s of a scraper process's ~3 s of CPU.
So, once warm, the process freezes what it holds (never scanned again) and collects the
young generation every 50,000 net allocations instead of 700. Only reference cycles wait
longer to be freed; everything else is still freed by reference counting at once.
Measured in the same bench: 256 -> 319 pages/s, scraper CPU 6.1 -> 4.3 s, writer 2.0 -> 1.3 s.
"""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)


def warm_worker_process() -> None:
    from django.db import connection

    from config.celery import app
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
