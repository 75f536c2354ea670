"""One request to a crawled site, as politely as the job's pages: within the host's
concurrency limit and delay (robots.txt Crawl-delay included), and never after the job
was cancelled. Pages and sitemaps go through here."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from isidorus import job_state
from isidorus.integrations.http_fetch import HTML_TYPES, FetchLimits, FetchResult, HopCheck, fetch
from isidorus.job_state.politeness import HostBusy, StopRequested, host_slot
from isidorus.scrapings.jobs import JobConfig
from isidorus.scrapings.robots_cache import robots_rules

# Not a failure: the host had no free slot by the deadline (pages are published again).
HOST_BUSY = "host_busy"


def polite_fetch(
    job: JobConfig,
    url: str,
    *,
    deadline: float,
    limits: FetchLimits,
    accept: frozenset[str] = HTML_TYPES,
    hop_check: HopCheck | None = None,
) -> FetchResult:
    delay = settings.CRAWL_HOST_DELAY
    if job.respect_robots:
        delay = max(delay, robots_rules(job.id, url).crawl_delay or 0.0)
    try:
        with host_slot(
            urlsplit(url).netloc,
            limit=settings.CRAWL_HOST_CONCURRENCY,
            delay=delay,
            lease_seconds=settings.CRAWL_TOTAL_TIMEOUT + 5,
            wait_until=deadline,
            # Cancelled while this batch was running: start no new request.
            stop_key=job_state.tombstone_key(job.id),
        ):
            return fetch(url, limits=limits, hop_check=hop_check, accept=accept)
    except StopRequested:
        return FetchResult(url, url, "skipped", "cancelled")
    except HostBusy:
        return FetchResult(url, url, "failed", HOST_BUSY, retryable=True)
