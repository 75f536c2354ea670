"""What is kept once a job ends, and for how long.

A running job's status and counters live in DynamoDB and its work state in Redis. When
it reaches a terminal status, its job item (status, reason, times, counters) is copied
to its PostgreSQL row (`final_item`), which keeps results until the job is deleted, and
every read uses that copy from then on. Only after the copy is written do the stores let
go: the job's Redis keys expire JOB_STATE_RETENTION_SECONDS later, and its DynamoDB item
and counter shards carry a TTL of JOB_ITEM_RETENTION_DAYS (the table's TTL attribute).

A process that dies between the terminal move and the copy leaves a terminal row without
one; the reaper copies it on its next tick (`jobs_archive_missed`), long before the item
can expire.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from isidorus import job_state
from isidorus.integrations import job_table
from isidorus.scrapings.models import TERMINAL_STATUSES, Scraping

# How many terminal rows without a copy one reaper tick looks at.
ARCHIVE_SWEEP_LIMIT = 200


def job_archive(job_id: str) -> bool:
    """Copy a terminal job's item to its row, then let Redis and DynamoDB expire its state.

    Safe to repeat: a later call (after more `unfinished` counters, say) copies again.
    Returns False while the job is not terminal.
    """
    item = job_table.job_item_get(job_id)
    if item is None:
        # Never launched (its item was never written), or its store lost it: the row's
        # own status is all there is to keep.
        row = Scraping.objects.filter(pk=job_id, status__in=TERMINAL_STATUSES).first()
        if row is None:
            return False
        item = {"status": row.status, "status_reason": row.status_reason}
    elif item.get("status") not in TERMINAL_STATUSES:
        return False
    Scraping.objects.filter(pk=job_id).update(final_item=item)
    job_state.expire_state(job_id, settings.JOB_STATE_RETENTION_SECONDS)
    expires_at = int(time.time()) + settings.JOB_ITEM_RETENTION_DAYS * 24 * 3600
    job_table.job_item_expire(job_id, expires_at=expires_at)
    return True


def job_item_of(job: Scraping) -> dict[str, Any]:
    """The job item: its terminal copy once there is one, else DynamoDB's live item
    (empty before the launch wrote it)."""
    if job.final_item is not None:
        return dict(job.final_item)
    return job_table.job_item_get(str(job.pk)) or {}


def jobs_archive_missed() -> dict[str, str]:
    """Copy terminal jobs that finished without one (their finisher died in between).

    Only jobs finished within the item's retention are looked at: past it, nothing is
    left to copy.
    """
    horizon = timezone.now() - timedelta(days=settings.JOB_ITEM_RETENTION_DAYS)
    missed = Scraping.objects.filter(
        status__in=TERMINAL_STATUSES, final_item__isnull=True, finished_at__gte=horizon
    ).values_list("pk", flat=True)[:ARCHIVE_SWEEP_LIMIT]
    return {str(job_id): "archived" for job_id in missed if job_archive(str(job_id))}
