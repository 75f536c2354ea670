"""Open a worker process's clients before its first task, not during it.

A boto3 client loads its service model from JSON when it is created (about 0.1-0.3 s of
CPU each), and kombu's SQS channel creates one more client of its own. Created lazily,
they are paid for by the first task of every pool process: inside that task's time limit
and on the clock of whichever job it belongs to. Prefork children call this once, right
after the fork (config/celery.py). A failure here is only logged: the same clients are
created on first use anyway, and a task reports a real outage with its own error.
"""

from __future__ import annotations

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
