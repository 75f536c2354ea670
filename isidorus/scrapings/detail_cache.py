"""A running job's detail, read from its stores at most once a second per API process.

The live detail costs a DynamoDB read of the job item and a batch read of its counter
shards, plus a Redis scan of the job's open items; a dashboard or a script polling a job
asks for it many times a second. Within JOB_DETAIL_CACHE_SECONDS a process answers with
the detail it read last, unless the job's row changed (a cancel, the finish, the archive):
the row is read on every request, so a status the row already shows is never hidden.
A terminal job's detail comes from its row's archived item and is not cached.

Past that window, a poll is still answered at once with the last read while one
background thread of the process reads the stores again, as long as that read is younger
than JOB_DETAIL_STALE_SECONDS; an older one (or 0) makes the poll wait for a fresh read.
Beside a crawl at full speed the stores' read is most of a detail's time (100-250 ms
against 10), and without this one poll a second per process paid it.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from isidorus.scrapings.models import Scraping
from isidorus.scrapings.selectors import ScrapingDetail, scraping_detail

logger = logging.getLogger(__name__)

_MAX_ENTRIES = 4096
_Version = tuple[object, ...]
# job id -> (when its read began, the row's version then, the detail)
_details: dict[str, tuple[float, _Version, ScrapingDetail]] = {}
_refreshing: set[str] = set()
_refreshing_lock = threading.Lock()
# Threads start on the first refresh, so a process forked after import gets its own.
_refresher = ThreadPoolExecutor(max_workers=2, thread_name_prefix="job-detail-refresh")


def _row_version(job: Scraping) -> _Version:
    return (job.status, job.status_reason, job.started_at, job.finished_at, job.final_item is None)


def scraping_detail_recent(job: Scraping) -> ScrapingDetail:
    """scraping_detail(job), or the one this process read within the cache's seconds (or,
    while it reads again in the background, within the stale seconds)."""
    seconds = settings.JOB_DETAIL_CACHE_SECONDS
    if seconds <= 0 or job.final_item is not None:
        return scraping_detail(job=job)
    key, version = str(job.pk), _row_version(job)
    cached = _details.get(key)
    if cached is not None and cached[1] == version:
        age = time.monotonic() - cached[0]
        if age < seconds:
            return cached[2]
        if age < settings.JOB_DETAIL_STALE_SECONDS:
            _refresh_in_background(job, key, version)
            return cached[2]
    return _read(job, key, version)


def _read(job: Scraping, key: str, version: _Version) -> ScrapingDetail:
    began = time.monotonic()
    detail = scraping_detail(job=job)
    if len(_details) >= _MAX_ENTRIES:
        _details.clear()
    current = _details.get(key)
    # A slower read that began earlier never replaces a newer one.
    if current is None or current[0] <= began or current[1] != version:
        _details[key] = (began, version, detail)
    return detail


def _refresh_in_background(job: Scraping, key: str, version: _Version) -> None:
    with _refreshing_lock:
        if key in _refreshing:
            return
        _refreshing.add(key)
    _refresher.submit(_refresh, job, key, version)


def _refresh(job: Scraping, key: str, version: _Version) -> None:
    try:
        _read(job, key, version)
    except Exception:
        # The next poll past the stale window reads in its own request, and answers the
        # error as any failed read.
        logger.warning("reading job %s's detail in the background failed", key, exc_info=True)
    finally:
        with _refreshing_lock:
            _refreshing.discard(key)
