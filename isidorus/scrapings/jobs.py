"""A job's settings as workers see them, and its status moves (DynamoDB, mirrored to PG)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.utils import timezone

from isidorus import job_state
from isidorus.crawling.scope import Scope, UrlFilter, as_scope
from isidorus.integrations import job_table
from isidorus.scrapings.models import TERMINAL_STATUSES, JobStatus, Scraping, SitemapMode
from isidorus.scrapings.retention import job_archive
from isidorus.scrapings.webhooks.options import STARTED, progress_every


@dataclass(frozen=True)
class JobConfig:
    id: str
    owner_id: int
    url: str
    depth: int
    max_pages: int
    scope: Scope
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    respect_robots: bool
    follow_nofollow: bool = False
    sitemap: SitemapMode = SitemapMode.INCLUDE
    summarize: bool = False
    describe_images: bool = False
    token_budget: int | None = None
    # Seconds between `job.progress` webhook events, None when the job wants none.
    progress_every: int | None = None

    @functools.cached_property
    def url_filter(self) -> UrlFilter:
        return UrlFilter(list(self.include), list(self.exclude))


def job_config(job_id: str) -> JobConfig | None:
    """A job's options never change after creation, so workers cache them per process."""
    return _cached_config(job_id)


@functools.lru_cache(maxsize=256)
def _cached_config(job_id: str) -> JobConfig | None:
    row = Scraping.objects.filter(pk=job_id).first()
    if row is None:
        return None
    return JobConfig(
        id=str(row.pk),
        owner_id=row.owner_id,
        url=row.url,
        depth=row.depth,
        max_pages=row.max_pages,
        scope=as_scope(row.scope),
        include=tuple(row.include),
        exclude=tuple(row.exclude),
        respect_robots=row.respect_robots,
        follow_nofollow=row.follow_nofollow,
        sitemap=SitemapMode(row.sitemap),
        summarize=row.summarize,
        describe_images=row.describe_images,
        token_budget=row.token_budget,
        progress_every=progress_every(row.webhook),
    )


def forget_config(job_id: str) -> None:
    _cached_config.cache_clear()


def job_is_stopped(job_id: str) -> bool:
    """True once the job is cancelled, deleted or finished: late work for it is dropped."""
    return job_state.get_flag(job_id, job_state.Flag.STOPPED)


def job_mark_running(job_id: str) -> None:
    if not job_state.set_flag(job_id, job_state.Flag.RUNNING):
        return
    if job_table.job_item_mark_running(job_id):
        Scraping.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
            status=JobStatus.RUNNING, started_at=timezone.now()
        )
        from isidorus.scrapings.webhooks.events import webhook_emit

        webhook_emit(job_id, STARTED)


def job_finish(job_id: str, *, status: str, reason: str = "") -> bool:
    """Move the job to a terminal status once; later attempts are no-ops."""
    # PostgreSQL first, so a job terminal in DynamoDB is terminal in lists too; if
    # DynamoDB says another terminal status won the race, the mirror follows it.
    Scraping.objects.filter(pk=job_id).exclude(status__in=TERMINAL_STATUSES).update(
        status=status, status_reason=reason, finished_at=timezone.now()
    )
    moved = job_table.job_item_finish(job_id, status=status, reason=reason)
    if not moved:
        item = job_table.job_item_get(job_id)
        if item is not None and item.get("status") in TERMINAL_STATUSES:
            Scraping.objects.filter(pk=job_id).update(
                status=item["status"], status_reason=item.get("status_reason", "")
            )
    job_state.set_flag(job_id, job_state.Flag.STOPPED)
    job_state.deactivate(job_id)
    job_archive(job_id)
    final = Scraping.objects.filter(pk=job_id).values_list("status", flat=True).first()
    if final in TERMINAL_STATUSES:
        # Every caller that reaches a terminal status emits it: the row makes it once.
        from isidorus.scrapings.webhooks.events import webhook_emit_status

        webhook_emit_status(job_id, str(final))
    return moved
