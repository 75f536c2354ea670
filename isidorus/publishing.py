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
    publish_wire(contract, contract.wire(body), delay_seconds=delay_seconds)


def publish_wire(
    contract: Contract[B],
    wire: dict[str, Any],
    *,
    delay_seconds: int = 0,
    task_id: str | None = None,
) -> None:
    """Publish a body already in its wire form; `task_id` names the message (its claim
    token), for messages whose id was decided earlier (job_state.pace)."""
    options: dict[str, Any] = {"queue": queue_name(contract.stage)}
    if delay_seconds > 0:
        # SQS's own delay: a Celery countdown would sit unacknowledged in a worker instead.
        options["delay_seconds"] = min(int(delay_seconds), MAX_DELAY_SECONDS)
    app.send_task(contract.name, args=[wire], task_id=task_id, **options)
    if settings.ISIDORUS_DUPLICATE_PUBLISHES:
        # A copy under another task id: a duplicate delivery the claims must drop.
        app.send_task(contract.name, args=[wire], **options)
