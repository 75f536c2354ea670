"""Publishing task messages, each to its contract's queue (isidorus/contracts.py).

Producers open a message's items in Redis before calling publish (open-before-publish).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings

from config.celery import app
from config.queues import queue_name
from isidorus import job_state
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


def publish_paced(
    contract: Contract[B],
    bodies: list[B],
    *,
    job_id: str,
    token: str,
    stage_worker: bool = True,
) -> None:
    """Publish a job's `bodies` to a paced stage through its pacing (job_state.pace): they
    join the job's held batches, and as many held batches as its line has room for go out
    now. Frees the slot of the delivery `token` that produced them (a finished batch of the
    stage; `stage_worker` False for a caller from another stage). CRAWL_PACING=false
    publishes them all at once."""
    if not settings.CRAWL_PACING:
        for body in bodies:
            publish(contract, body)
        return
    wires = [json.dumps(contract.wire(body), separators=(",", ":")) for body in bodies]
    released = job_state.pace(
        stage=contract.stage, job_id=job_id, token=token, new=wires, stage_worker=stage_worker
    )
    for batch in released:
        publish_wire(contract, json.loads(batch.wire), task_id=batch.task_id)
    if released:
        job_state.pace_done(contract.stage, job_id, token)
