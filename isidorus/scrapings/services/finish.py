"""Decide a finished job's terminal status from what was written, and move it there."""

from __future__ import annotations

from django.db.models import Count

from isidorus.scrapings import job_state
from isidorus.scrapings.jobs import job_finish
from isidorus.scrapings.models import Image, JobStatus, Page


def terminal_status(job_id: str) -> tuple[str, str]:
    start = Page.objects.filter(scraping_id=job_id, depth=0, parent_url="").first()
    if start is not None and start.outcome != "fetched":
        return JobStatus.FAILED, f"start URL {start.outcome}: {start.reason}"
    by_outcome = dict(
        Page.objects.filter(scraping_id=job_id)
        .values_list("outcome")
        .annotate(total=Count("id"))
        .values_list("outcome", "total")
    )
    quota_hit = Page.objects.filter(
        scraping_id=job_id, outcome="skipped", reason="quota_exceeded"
    ).exists()
    if quota_hit:
        return JobStatus.COMPLETED_WITH_ERRORS, "stopped at the owner's daily page quota"
    failed = by_outcome.get("failed", 0)
    if failed:
        return JobStatus.COMPLETED_WITH_ERRORS, f"{failed} page(s) failed"
    failed_images = Image.objects.filter(scraping_id=job_id, outcome="failed").count()
    failed_summaries = Page.objects.filter(scraping_id=job_id).exclude(summary_error="").count()
    if failed_images or failed_summaries:
        return (
            JobStatus.COMPLETED_WITH_ERRORS,
            f"enrichment failed for {failed_images} image(s) and {failed_summaries} summary(ies)",
        )
    return JobStatus.COMPLETED, ""


def job_fail_lost_state(job_id: str) -> bool:
    """The job's Redis state vanished: fail it with a clear reason rather than guess."""
    return job_finish(job_id, status=JobStatus.FAILED, reason=job_state.STATE_LOST_REASON)


def job_finish_if_done(job_id: str) -> bool:
    """Finish the job if nothing is open. Safe to call any number of times, by anyone."""
    if job_state.open_count(job_id) != 0:
        return False
    status, reason = terminal_status(job_id)
    return job_finish(job_id, status=status, reason=reason)
