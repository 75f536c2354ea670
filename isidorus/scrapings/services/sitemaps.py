"""The URLs a job's site lists in its sitemaps, found when the start page is scraped.

Sitemaps are those named by robots.txt `Sitemap:` lines on the start URL's origin, and
`/sitemap.xml` there. Sitemap indexes are followed MAX_NESTING levels deep, at most
MAX_SITEMAP_FILES files are read, and at most min(max_pages, SITEMAP_MAX_URLS) URLs are
kept. Each file comes through the guarded fetcher (SSRF policy, deadline, size limit),
within the host's politeness limits as pages are (polite.py), and
is parsed from its bytes (isidorus/crawling/sitemaps.py).

What is recorded: nothing for a site without a sitemap (no `Sitemap:` line and
`/sitemap.xml` missing, failing, or answering an HTML page, as sites that route every path
to one page do); a sitemap that exists and cannot be parsed is returned in `invalid`, for
a `failed/sitemap_invalid` row. A sitemap never fails the job.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from django.conf import settings

from isidorus.crawling.sitemaps import SitemapInvalid, SitemapKind, parse_sitemap
from isidorus.crawling.urls import canonicalize
from isidorus.integrations.http_fetch import FetchLimits
from isidorus.scrapings.jobs import JobConfig
from isidorus.scrapings.robots_cache import origin_of, robots_rules
from isidorus.scrapings.services.polite import polite_fetch

logger = logging.getLogger(__name__)

SITEMAP_INVALID = "sitemap_invalid"
SITEMAP_MAX_URLS = 50_000
MAX_SITEMAP_FILES = 20
MAX_NESTING = 2
# sitemaps.org's own limit on an uncompressed sitemap file.
SITEMAP_MAX_BYTES = 50 * 1024 * 1024
SITEMAP_TYPES = frozenset(
    {
        "application/xml", "text/xml", "application/gzip", "application/x-gzip",
        "text/plain", "application/octet-stream", "text/html", "",
    }
)  # fmt: skip


@dataclass
class SitemapFinding:
    urls: list[str] = field(default_factory=list)  # canonical, in order, each once
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (sitemap URL, why)


@dataclass(frozen=True)
class _Pending:
    url: str
    level: int
    declared: bool  # named by robots.txt or an index, not guessed


def find_sitemap_urls(job: JobConfig, *, deadline: float) -> SitemapFinding:
    finding = SitemapFinding()
    origin = origin_of(job.url)
    declared = [
        url
        for raw in robots_rules(job.id, job.url).sitemaps
        if (url := canonicalize(raw)) is not None and origin_of(url) == origin
    ]
    guessed = f"{origin}/sitemap.xml"
    pending = [_Pending(url, 0, True) for url in declared]
    if guessed not in declared:
        pending.append(_Pending(guessed, 0, False))
    max_urls = min(job.max_pages, SITEMAP_MAX_URLS)
    seen_files: set[str] = set()
    found: dict[str, None] = {}
    while pending and len(seen_files) < MAX_SITEMAP_FILES and len(found) < max_urls:
        remaining = deadline - time.monotonic()
        if remaining < 1:
            logger.info("sitemaps of job %s: out of time after %d files", job.id, len(seen_files))
            break
        item = pending.pop(0)
        if item.url in seen_files:
            continue
        seen_files.add(item.url)
        body = _download(job, item, deadline)
        if body is None:
            continue
        try:
            sitemap = parse_sitemap(
                body, max_bytes=SITEMAP_MAX_BYTES, max_urls=max_urls - len(found)
            )
        except SitemapInvalid as error:
            finding.invalid.append((item.url, str(error)))
            continue
        locations = [url for raw in sitemap.locations if (url := canonicalize(raw)) is not None]
        if sitemap.kind is SitemapKind.URLSET:
            found.update(dict.fromkeys(locations))
        elif item.level < MAX_NESTING:
            nested = [url for url in locations if origin_of(url) == origin]
            pending += [_Pending(url, item.level + 1, True) for url in nested]
    finding.urls = list(found)[:max_urls]
    return finding


def _download(job: JobConfig, item: _Pending, deadline: float) -> bytes | None:
    """The sitemap's body, or None when there is no sitemap there."""
    result = polite_fetch(
        job,
        item.url,
        deadline=deadline,
        limits=FetchLimits(
            connect_timeout=settings.CRAWL_CONNECT_TIMEOUT,
            read_timeout=settings.CRAWL_READ_TIMEOUT,
            total_seconds=min(settings.CRAWL_TOTAL_TIMEOUT, max(0.5, deadline - time.monotonic())),
            max_bytes=SITEMAP_MAX_BYTES,
            user_agent=settings.CRAWL_USER_AGENT,
        ),
        accept=SITEMAP_TYPES,
    )
    if result.outcome != "fetched" or not result.body:
        if item.declared:
            logger.info("sitemap %s: %s %s", item.url, result.outcome, result.reason)
        return None
    if not item.declared and result.content_type == "text/html":
        return None
    return result.body
