"""Cancel and delete. Both bury the job first (a Redis tombstone every worker script
checks), so work still in flight for it is dropped instead of recreating anything."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from isidorus import job_state
from isidorus.integrations import job_table
from isidorus.integrations.aws import s3_client
from isidorus.scrapings.jobs import forget_config
from isidorus.scrapings.models import TERMINAL_STATUSES, Image, JobStatus, Scraping
from isidorus.scrapings.retention import job_archive
from isidorus.scrapings.services.unfinished import job_record_unfinished
from isidorus.scrapings.staging import stage_delete_job
from isidorus.scrapings.webhooks.events import webhook_emit
from isidorus.scrapings.webhooks.options import CANCELLED as CANCELLED_EVENT

logger = logging.getLogger(__name__)
CANCELLED_REASON = "cancelled by its owner"
CANCELLED = "cancelled"  # the summary_error / image reason of work it never did


class AlreadyFinished(Exception):
    def __init__(self, status: str) -> None:
        super().__init__(f"the job is already {status}")
        self.status = status


def scraping_cancel(*, job: Scraping) -> None:
    """Stop a running or queued job now. Raises AlreadyFinished for a terminal job."""
    job_id = str(job.pk)
    moved = job_table.job_item_finish(job_id, status=JobStatus.CANCELLED, reason=CANCELLED_REASON)
    if not moved:
        item = job_table.job_item_get(job_id)
        status = item.get("status") if item else job.status
        if status in TERMINAL_STATUSES:
            raise AlreadyFinished(str(status))
    job_state.bury(job_id)
    job_state.deactivate(job_id)
    Scraping.objects.filter(pk=job_id).exclude(status__in=TERMINAL_STATUSES).update(
        status=JobStatus.CANCELLED, status_reason=CANCELLED_REASON, finished_at=timezone.now()
    )
    job_record_unfinished(job_id, CANCELLED)
    job_archive(job_id)
    webhook_emit(job_id, CANCELLED_EVENT)


def _image_objects_only_this_job_uses(job_id: str) -> list[str]:
    keys = set(
        Image.objects.filter(scraping_id=job_id).exclude(s3_key="").values_list("s3_key", flat=True)
    )
    shared = set(
        Image.objects.filter(s3_key__in=keys)
        .exclude(scraping_id=job_id)
        .values_list("s3_key", flat=True)
    )
    return sorted(keys - shared)


def scraping_delete(*, job: Scraping) -> None:
    """Remove the job everywhere: PostgreSQL, S3 (objects no other job uses), DynamoDB, Redis."""
    job_id = str(job.pk)
    try:
        scraping_cancel(job=job)
    except AlreadyFinished:
        job_state.bury(job_id)
    unshared = _image_objects_only_this_job_uses(job_id)
    with transaction.atomic():
        Scraping.objects.filter(pk=job_id).delete()
    s3 = s3_client()
    for start in range(0, len(unshared), 1000):
        objects = [{"Key": key} for key in unshared[start : start + 1000]]
        s3.delete_objects(Bucket=settings.S3_BUCKET, Delete={"Objects": objects, "Quiet": True})
    stage_delete_job(job_id)
    job_table.job_item_delete(job_id)
    job_state.delete_state(job_id)
    forget_config(job_id)
