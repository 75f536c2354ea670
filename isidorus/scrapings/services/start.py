"""Starting a job: the Scraping row first, then the launch (DynamoDB, Redis, SQS).

The launch runs after the row's transaction commits, and every step of it is idempotent,
so a failed launch can simply be run again; the reaper relaunches (then fails) jobs whose
launch never happened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction

from isidorus import job_state
from isidorus.contracts import SCRAPE, PageEntry, ScrapeBody
from isidorus.crawling.urls import url_fingerprint
from isidorus.integrations import job_table
from isidorus.job_state.limits import daily_pages_used, daily_quota_key, seconds_until_utc_midnight
from isidorus.publishing import publish
from isidorus.scrapings.jobs import job_finish
from isidorus.scrapings.models import TERMINAL_STATUSES, JobStatus, Scraping

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartRequest:
    url: str
    depth: int = 1
    max_pages: int = 1000
    scope: str = "host"
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    respect_robots: bool = True
    follow_nofollow: bool = False
    sitemap: str = "include"
    webhook: dict[str, Any] | None = None
    summarize: bool = True
    describe_images: bool = True
    token_budget: int | None = None
    idempotency_key: str | None = None


class StartRefused(Exception):
    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after


def scraping_start(*, owner: Any, request: StartRequest) -> tuple[Scraping, bool]:
    """Create a job (or return the one with the same idempotency key). Returns (job, created)."""
    with transaction.atomic():
        # Serialise an owner's starts so the running-job limit holds under races.
        type(owner).objects.select_for_update().filter(pk=owner.pk).first()
        if request.idempotency_key:
            existing = Scraping.objects.filter(
                owner=owner, idempotency_key=request.idempotency_key
            ).first()
            if existing is not None:
                return existing, False
        running = Scraping.objects.filter(owner=owner).exclude(status__in=TERMINAL_STATUSES).count()
        if running >= settings.ISIDORUS_MAX_RUNNING_JOBS:
            raise StartRefused(
                "too_many_running_jobs",
                f"at most {settings.ISIDORUS_MAX_RUNNING_JOBS} jobs may run at once",
                retry_after=30,
            )
        if daily_pages_used(owner.pk) >= settings.ISIDORUS_DAILY_PAGE_QUOTA:
            raise StartRefused(
                "daily_page_quota_exhausted",
                f"the daily quota of {settings.ISIDORUS_DAILY_PAGE_QUOTA} pages is used up",
                retry_after=seconds_until_utc_midnight(),
            )
        job = Scraping.objects.create(
            owner=owner,
            url=request.url,
            depth=request.depth,
            max_pages=request.max_pages,
            scope=request.scope,
            include=request.include,
            exclude=request.exclude,
            respect_robots=request.respect_robots,
            follow_nofollow=request.follow_nofollow,
            sitemap=request.sitemap,
            webhook=request.webhook,
            summarize=request.summarize,
            describe_images=request.describe_images,
            token_budget=request.token_budget,
            idempotency_key=request.idempotency_key,
        )
        transaction.on_commit(lambda: _launch_quietly(str(job.pk)))
    return job, True


def _launch_quietly(job_id: str) -> None:
    try:
        scraping_launch(job_id=job_id)
    except Exception:
        logger.exception("launch of job %s failed; the reaper will retry it", job_id)


def scraping_launch(*, job_id: str) -> None:
    """Create the job item and state and publish the start URL. Idempotent."""
    job = Scraping.objects.get(pk=job_id)
    job_table.job_item_create(
        job_id=job_id,
        owner_id=job.owner_id,
        url=job.url,
        depth=job.depth,
        created_at=job.created_at.isoformat().replace("+00:00", "Z"),
        max_pages=job.max_pages,
    )
    job_state.activate(job_id)
    (code,) = job_state.admit(
        job_id=job_id,
        candidates=[
            job_state.Candidate(
                fingerprint=url_fingerprint(job.url), depth=0, fetch=True, url=job.url
            )
        ],
        max_pages=job.max_pages,
        quota_key=daily_quota_key(job.owner_id),
        quota_limit=settings.ISIDORUS_DAILY_PAGE_QUOTA,
        quota_ttl=seconds_until_utc_midnight() + 3600,
        max_depth=job.depth,
    )
    job_state.set_flag(job_id, job_state.Flag.LAUNCHED)
    if code == job_state.Code.QUOTA:
        job_finish(job_id, status=JobStatus.FAILED, reason="the daily page quota is used up")
    elif job_state.is_open(job_id, job_state.page_item(url_fingerprint(job.url))):
        publish(SCRAPE, ScrapeBody(job_id, (PageEntry(job.url, depth=0),)))
