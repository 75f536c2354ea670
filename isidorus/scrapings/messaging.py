"""Publishing task messages. Every message body carries a schema version.

Producers open a message's items in Redis before calling publish (open-before-publish).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from config.celery import app
from config.queues import queue_name

SCHEMA_VERSION = 1
SCRAPE_TASK = "isidorus.scrape"
WRITE_TASK = "isidorus.write"
EXPAND_TASK = "isidorus.expand"
SUMMARIZE_TASK = "isidorus.summarize"
EXTRACT_IMAGE_TASK = "isidorus.extract_image"
# SQS refuses DelaySeconds above 15 minutes.
MAX_DELAY_SECONDS = 900


def publish(task_name: str, stage: str, payload: dict[str, Any], *, delay_seconds: int = 0) -> None:
    body = {"v": SCHEMA_VERSION, **payload}
    options: dict[str, Any] = {"queue": queue_name(stage)}
    if delay_seconds > 0:
        # SQS's own delay: a Celery countdown would sit unacknowledged in a worker instead.
        options["delay_seconds"] = min(int(delay_seconds), MAX_DELAY_SECONDS)
    copies = 2 if settings.ISIDORUS_DUPLICATE_PUBLISHES else 1
    for _ in range(copies):
        app.send_task(task_name, args=[body], **options)
