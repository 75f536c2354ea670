"""Rows whose enrichment will never run get a reason of their own.

Used when a job ends with work left undone (its audit found enrichment lost, the reaper
failed it, its owner cancelled it): no page is left with neither a summary nor a
`summary_error`, and no image row without an outcome. Counters are added once per row,
as the enrichment services add them (enrichment_counts.count_finished, from the rows'
final state), so a late enrichment task cannot count the same row again.
"""

from __future__ import annotations

from django.conf import settings

from isidorus.scrapings.jobs import job_config
from isidorus.scrapings.models import Image, Page
from isidorus.scrapings.retention import job_archive
from isidorus.scrapings.services.enrichment_counts import IMAGE, SUMMARY, count_finished

IMAGE_FAILED = "failed"


def summaries_record_unfinished(job_id: str, reason: str, page_ids: list[int] | None = None) -> int:
    """Give `reason` as summary_error to the job's summarisable pages that have neither."""
    pending = Page.objects.filter(
        scraping_id=job_id, outcome="fetched", summary="", summary_error=""
    ).exclude(text="")
    if page_ids is not None:
        pending = pending.filter(pk__in=page_ids)
    ids = list(pending.values_list("pk", flat=True))
    Page.objects.filter(pk__in=ids, summary="", summary_error="").update(summary_error=reason)
    count_finished(job_id, SUMMARY, ids)
    return len(ids)


def images_record_unfinished(job_id: str, reason: str, image_ids: list[int] | None = None) -> int:
    """Record the job's image rows that have no outcome as failed with `reason`."""
    pending = Image.objects.filter(scraping_id=job_id, outcome="")
    if image_ids is not None:
        pending = pending.filter(pk__in=image_ids)
    ids = list(pending.values_list("pk", flat=True))
    Image.objects.filter(pk__in=ids, outcome="").update(outcome=IMAGE_FAILED, reason=reason)
    count_finished(job_id, IMAGE, ids)
    return len(ids)


def job_record_unfinished(job_id: str, reason: str) -> tuple[int, int]:
    """For a job ending early: every summary and image it would have made gets `reason`.

    Returns (summaries, images) recorded.
    """
    job = job_config(job_id)
    if job is None or not settings.ISIDORUS_ENRICHMENT_ENABLED:
        return 0, 0
    summaries = summaries_record_unfinished(job_id, reason) if job.summarize else 0
    images = images_record_unfinished(job_id, reason) if job.describe_images else 0
    if summaries or images:
        job_archive(job_id)  # the terminal copy takes the counters just added
    return summaries, images
