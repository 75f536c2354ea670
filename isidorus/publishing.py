"""Publishing task messages, each to its contract's queue (isidorus/contracts.py).

Producers open a message's items in Redis before calling publish (open-before-publish).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from config.celery import app
from config.queues import queue_name
from isidorus.contracts import MAX_DELAY_SECONDS, B, Contract


def publish(contract: Contract[B], body: B, *, delay_seconds: int = 0) -> None:
    options: dict[str, Any] = {"queue": queue_name(contract.stage)}
    if delay_seconds > 0:
        # SQS's own delay: a Celery countdown would sit unacknowledged in a worker instead.
        options["delay_seconds"] = min(int(delay_seconds), MAX_DELAY_SECONDS)
    wire = contract.wire(body)
    copies = 2 if settings.ISIDORUS_DUPLICATE_PUBLISHES else 1
    for _ in range(copies):
        app.send_task(contract.name, args=[wire], **options)
