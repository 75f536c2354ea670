"""A job's webhook events, each recorded once as a delivery row and then published.

The option (`Scraping.webhook`): {"url", "events", "progress_seconds"}. Events:
- `job.started` when the job starts running;
- `job.completed` (COMPLETED or COMPLETED_WITH_ERRORS), `job.failed`, `job.cancelled` when
  it reaches that status, which is after every page and enrichment item is written;
- `job.progress`, at most once every `progress_seconds`, after a batch is written.

Emitting is idempotent (a unique row per job and event), so every path that may reach a
status emits its event; the row is committed before its message is published, and the
sweeper publishes again a row whose message was lost (delivery.py).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from isidorus.contracts import DELIVER_WEBHOOK, WebhookBody
from isidorus.integrations.redis_client import get_redis
from isidorus.publishing import publish
from isidorus.scrapings.jobs import job_config
from isidorus.scrapings.models import TERMINAL_STATUSES, JobStatus, Scraping, WebhookDelivery
from isidorus.scrapings.retention import job_item_of
from isidorus.scrapings.selectors import counters_from_item
from isidorus.scrapings.webhooks.options import CANCELLED, COMPLETED, FAILED, PROGRESS

EVENT_OF_STATUS = {
    JobStatus.COMPLETED: COMPLETED,
    JobStatus.COMPLETED_WITH_ERRORS: COMPLETED,
    JobStatus.FAILED: FAILED,
    JobStatus.CANCELLED: CANCELLED,
}


def webhook_emit(job_id: str, event: str) -> None:
    """Record `event` of the job for delivery (once), if the job wants it."""
    job = Scraping.objects.filter(pk=job_id).only("webhook").first()
    if job is None or not job.webhook or event not in job.webhook.get("events", ()):
        return
    _record(job_id, event, event)


def webhook_emit_status(job_id: str, status: str) -> None:
    event = EVENT_OF_STATUS.get(JobStatus(status)) if status in JobStatus.values else None
    if event is not None:
        webhook_emit(job_id, event)


def webhook_progress(job_id: str) -> None:
    """A `job.progress` event, if the job wants them, the last is old enough, and the
    job is not terminal yet."""
    config = job_config(job_id)
    every = config.progress_every if config is not None else None
    if every is None:
        return
    # One process wins each window; the row key makes a repeat harmless anyway.
    if not get_redis().set(f"webhook-progress:{{{job_id}}}", "1", nx=True, ex=every):
        return
    with transaction.atomic():
        # The row lock orders this against `job_finish`'s status update: either this
        # event is recorded first (and the terminal event waits for it), or the job is
        # already terminal and progress is over.
        live = (
            Scraping.objects.select_for_update()
            .filter(pk=job_id)
            .exclude(status__in=TERMINAL_STATUSES)
            .values_list("pk", flat=True)
        )
        if live.first() is not None:
            _record(job_id, PROGRESS, f"{PROGRESS}:{uuid.uuid4().hex}")


def _record(job_id: str, event: str, key: str) -> None:
    payload = _payload(job_id, event)
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                scraping_id=job_id, event=event, event_key=key, payload=payload
            )
    except IntegrityError:
        return  # already recorded: its delivery is on its way
    transaction.on_commit(lambda: publish(DELIVER_WEBHOOK, WebhookBody(delivery.pk)))


def _payload(job_id: str, event: str) -> dict[str, Any]:
    job = Scraping.objects.only("status", "status_reason", "url", "final_item").get(pk=job_id)
    item = job_item_of(job)
    counters = counters_from_item(item)
    return {
        "type": event,
        "created_at": timezone.now().isoformat(),
        "job": {
            "id": job_id,
            "url": job.url,
            "status": str(item.get("status") or job.status),
            "status_reason": str(item.get("status_reason") or job.status_reason),
            "pages": {
                "fetched": counters.fetched,
                "failed": counters.failed,
                "skipped": counters.skipped,
            },
        },
    }
