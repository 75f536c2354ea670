"""Decide a finished job's terminal status from what was written, and move it there.

Whoever empties a job's open set calls `job_finish_if_done`. Before a terminal status:
1. the effects of every committed write batch must have run (services/batch_effects.py);
   running them may open enrichment items, and then the job is not done yet;
2. the audit must pass (services/audit.py), after one repair if needed; a loss that
   remains is written on the rows and named in the status reason.
Finishers take a short Redis lease, so two of them never audit and repair at once.
"""

from __future__ import annotations

import time
import uuid

from django.db.models import Count

from isidorus import job_state
from isidorus.scrapings.jobs import job_config, job_finish, job_is_stopped
from isidorus.scrapings.models import TERMINAL_STATUSES, Image, JobStatus, Page, Scraping
from isidorus.scrapings.services.audit import (
    job_audit,
    job_audit_record_losses,
    job_audit_repair,
)
from isidorus.scrapings.services.batch_effects import batch_effects_outstanding_apply
from isidorus.scrapings.services.discover import expands_of_closed_pages
from isidorus.scrapings.services.unfinished import job_record_unfinished

STATE_LOST = "state_lost"

# The lease outlives any audit (seconds at 100,000 pages); a finisher that dies holding
# it only delays the finish until it expires and the next closer or the reaper comes.
FINISH_LEASE_SECONDS = 120
FINISH_WAIT_SECONDS = 30.0


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
    """The job's Redis state vanished: fail it with a clear reason rather than guess.

    A job already finished has nothing to fail: its state expired after the end
    (scrapings/retention.py) and a message for it came later.
    """
    if Scraping.objects.filter(pk=job_id, status__in=TERMINAL_STATUSES).exists():
        return False
    moved = job_finish(job_id, status=JobStatus.FAILED, reason=job_state.STATE_LOST_REASON)
    job_record_unfinished(job_id, STATE_LOST)
    return moved


def job_finish_if_done(job_id: str) -> bool:
    """Finish the job if nothing is open. Safe to call any number of times, by anyone."""
    if job_state.open_count(job_id) != 0:
        return False
    token = uuid.uuid4().hex
    deadline = time.monotonic() + FINISH_WAIT_SECONDS
    # Waiting, not giving up: the holder may be about to re-open work that closes while
    # it still holds the lease, and that closer must then be the one to finish.
    while not job_state.lease_acquire(job_id, "finishing", token, FINISH_LEASE_SECONDS):
        if time.monotonic() > deadline:
            return False  # the reaper finishes a job left with nothing open
        time.sleep(0.05)
    try:
        return _finish_holding_lease(job_id)
    finally:
        job_state.lease_release(job_id, "finishing", token)


def _finish_holding_lease(job_id: str) -> bool:
    job = job_config(job_id)
    if job is None or job_is_stopped(job_id) or job_state.open_count(job_id) != 0:
        return False
    if batch_effects_outstanding_apply(job_id) and job_state.open_count(job_id) != 0:
        return False
    findings = job_audit(job)
    if not findings.clean and job_state.set_flag(job_id, job_state.Flag.AUDIT_REPAIRED):
        if job_audit_repair(job_id, findings):
            return False
        findings = job_audit(job)
    losses = "" if findings.clean else job_audit_record_losses(job_id, findings)
    status, reason = terminal_status(job_id)
    if losses:
        status = JobStatus.FAILED if status == JobStatus.FAILED else JobStatus.COMPLETED_WITH_ERRORS
        reason = "; ".join(part for part in (losses, reason) if part)
    return job_finish(job_id, status=status, reason=reason)


def items_close(job_id: str, items: list[str], *, release_claims: bool = False) -> int:
    """Close work items whose records are durable (docs/completion.md, rule 2); whoever
    closes the last one finishes the job (rule 3). Returns how many items remain open
    (-1: the job is buried).

    `release_claims` first, for items another message may re-open and must claim at once
    (enrichment items, which the writer re-opens after its own crash).
    """
    if release_claims:
        job_state.release_claims(job_id=job_id, items=items)
    remaining = job_state.close(job_id=job_id, items=items)
    if remaining == 0:
        job_finish_if_done(job_id)
    elif remaining > 0 and (job := job_config(job_id)) is not None:
        expands_of_closed_pages(job_id, job.depth, items)
    return remaining
