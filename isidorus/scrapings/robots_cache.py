"""robots.txt, fetched once per host per job (Redis), parsed once per process."""

from __future__ import annotations

import functools
import time

from django.conf import settings

from isidorus import job_state
from isidorus.crawling.robots import RobotsRules, rules_for_status
from isidorus.crawling.urls import split_url
from isidorus.integrations.http_fetch import FetchLimits, fetch

ROBOTS_TYPES = frozenset({"text/plain", "text/html", "application/octet-stream", ""})
ROBOTS_MAX_BYTES = 512 * 1024
LOCK_SECONDS = 30


def origin_of(url: str) -> str:
    parts = split_url(url)
    return f"{parts.scheme}://{parts.netloc}"


def _download(origin: str) -> str:
    result = fetch(
        f"{origin}/robots.txt",
        limits=FetchLimits(
            connect_timeout=settings.CRAWL_CONNECT_TIMEOUT,
            read_timeout=settings.CRAWL_READ_TIMEOUT,
            total_seconds=min(settings.CRAWL_TOTAL_TIMEOUT, 20.0),
            max_bytes=ROBOTS_MAX_BYTES,
            user_agent=settings.CRAWL_USER_AGENT,
        ),
        accept=ROBOTS_TYPES,
    )
    if result.status_code is None:
        # Unreachable: RFC 9309 says to assume complete disallow.
        return "503\n"
    body = result.body.decode("utf-8", "replace") if result.outcome == "fetched" else ""
    return f"{result.status_code}\n{body}"


@functools.lru_cache(maxsize=1024)
def _parse(stored: str) -> RobotsRules:
    status_line, _, text = stored.partition("\n")
    return rules_for_status(int(status_line or "503"), text, settings.CRAWL_USER_AGENT)


# Once stored for a job, a host's robots.txt never changes, so each process keeps what it
# has read: the bench measured one Redis round trip per discovered link otherwise.
_known: dict[tuple[str, str], str] = {}
_KNOWN_LIMIT = 4096


def robots_rules(job_id: str, url: str) -> RobotsRules:
    origin = origin_of(url)
    known = _known.get((job_id, origin))
    if known is not None:
        return _parse(known)
    stored = _fetch_or_wait(job_id, origin)
    if len(_known) >= _KNOWN_LIMIT:
        _known.clear()
    _known[(job_id, origin)] = stored
    return _parse(stored)


def _fetch_or_wait(job_id: str, origin: str) -> str:
    stored = job_state.robots_get(job_id, origin)
    if stored is None:
        if job_state.robots_lock(job_id, origin, LOCK_SECONDS):
            stored = job_state.robots_put(job_id, origin, _download(origin))
        else:
            deadline = time.monotonic() + LOCK_SECONDS
            while stored is None and time.monotonic() < deadline:
                time.sleep(0.05)
                stored = job_state.robots_get(job_id, origin)
            if stored is None:  # the lock holder died: fetch it ourselves
                stored = job_state.robots_put(job_id, origin, _download(origin))
    return stored
