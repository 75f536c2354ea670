"""A running job's detail, read from its stores at most once a second per API process.

The live detail costs a DynamoDB read of the job item and a batch read of its counter
shards, plus a Redis scan of the job's open items; a dashboard or a script polling a job
asks for it many times a second. Within JOB_DETAIL_CACHE_SECONDS a process answers with
the detail it read last, unless the job's row changed (a cancel, the finish, the archive):
the row is read on every request, so a status the row already shows is never hidden.
A terminal job's detail comes from its row's archived item and is not cached.
"""

from __future__ import annotations

import time

from django.conf import settings

from isidorus.scrapings.models import Scraping
from isidorus.scrapings.selectors import ScrapingDetail, scraping_detail

_MAX_ENTRIES = 4096
_details: dict[str, tuple[float, tuple[object, ...], ScrapingDetail]] = {}


def _row_version(job: Scraping) -> tuple[object, ...]:
    return (job.status, job.status_reason, job.started_at, job.finished_at, job.final_item is None)


def scraping_detail_recent(job: Scraping) -> ScrapingDetail:
    """scraping_detail(job), or the one this process read within the cache's seconds."""
    seconds = settings.JOB_DETAIL_CACHE_SECONDS
    if seconds <= 0 or job.final_item is not None:
        return scraping_detail(job=job)
    key, version, now = str(job.pk), _row_version(job), time.monotonic()
    cached = _details.get(key)
    if cached is not None and cached[1] == version and now - cached[0] < seconds:
        return cached[2]
    detail = scraping_detail(job=job)
    if len(_details) >= _MAX_ENTRIES:
        _details.clear()
    _details[key] = (now, version, detail)
    return detail
