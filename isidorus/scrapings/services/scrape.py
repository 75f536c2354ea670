"""The scraper stage: fetch a batch of admitted URLs, parse them, admit their links.

Order of effects, which makes crashes and redelivery safe:
1. claim the batch's open items (a duplicate delivery of a claimed item is dropped);
2. fetch and parse;
3. admit the children in one Redis script (their items are opened: open-before-publish);
4. stage the batch for the writer in S3, publish children, then publish the writer
   message. The writer closes this batch's items only after its rows are committed.
A crash anywhere before the writer message is published leaves this batch's items open
and its message unacknowledged, so SQS redelivers it; that run re-publishes the children
it had admitted (code R) and the skipped rows it had recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from isidorus import job_state
from isidorus.contracts import SCRAPE, WRITE, PageEntry, ScrapeBody, WriteBody
from isidorus.crawling.indexing import PageIndexing, page_indexing
from isidorus.crawling.parse import ParsedPage, parse_html
from isidorus.crawling.scope import in_scope
from isidorus.crawling.terms import ENGLISH_STOP_WORDS, count_terms
from isidorus.crawling.urls import url_fingerprint
from isidorus.integrations.cpu_steps import cpu_step
from isidorus.integrations.http_fetch import FetchLimits, FetchResult
from isidorus.publishing import publish
from isidorus.scrapings.jobs import JobConfig, job_config, job_is_stopped, job_mark_running
from isidorus.scrapings.models import SitemapMode
from isidorus.scrapings.robots_cache import robots_rules
from isidorus.scrapings.services.discover import (
    Discovery,
    LinkSource,
    batch_size_for,
    discover,
    dispatch,
    skip_reason,
    skipped_record,
)
from isidorus.scrapings.services.expand import expands_subsumed
from isidorus.scrapings.services.polite import HOST_BUSY, polite_fetch
from isidorus.scrapings.services.sitemaps import SITEMAP_INVALID, find_sitemap_urls
from isidorus.scrapings.staging import stage_put, staging_key

logger = logging.getLogger(__name__)


# Every request slot of the host stayed taken until the task's deadline (by other fetches,
# or held until their lease expires by a worker that was killed). Not the page's failure:
# it is fetched again later without spending an attempt.


class InjectedFault(RuntimeError):
    """Raised only when ISIDORUS_FAULT_SCRAPE_URL_REGEX is set (reliability tests)."""


@dataclass
class ScrapeReport:
    claimed: int = 0
    dropped: int = 0
    retried: int = 0
    children: int = 0
    batch_id: str = ""


@dataclass
class _Outcome:
    item: str
    entry: PageEntry
    result: FetchResult
    parsed: ParsedPage | None = None
    indexing: PageIndexing | None = None
    record: dict[str, Any] = field(default_factory=dict)


def _limits(deadline: float) -> FetchLimits:
    # A page slower than the task's own time limit fails as a timeout (a recorded outcome)
    # instead of killing the task (which would end the whole batch in the DLQ).
    remaining = max(0.5, deadline - time.monotonic())
    return FetchLimits(
        connect_timeout=settings.CRAWL_CONNECT_TIMEOUT,
        read_timeout=settings.CRAWL_READ_TIMEOUT,
        total_seconds=min(settings.CRAWL_TOTAL_TIMEOUT, remaining),
        max_bytes=settings.CRAWL_MAX_BODY_BYTES,
        user_agent=settings.CRAWL_USER_AGENT,
    )


def _stop_words() -> frozenset[str]:
    extra = settings.CRAWL_STOP_WORDS
    return ENGLISH_STOP_WORDS | frozenset(extra) if extra else ENGLISH_STOP_WORDS


def _fetch_one(job: JobConfig, url: str, deadline: float) -> FetchResult:
    with cpu_step("scraper: fetch (HTTP, host slots in Redis)"):
        # Children were checked against robots.txt at admission; this catches the start URL.
        if job.respect_robots and not robots_rules(job.id, url).allows(url):
            return FetchResult(url, url, "skipped", "robots_disallowed")
        return polite_fetch(
            job,
            url,
            deadline=deadline,
            limits=_limits(deadline),
            hop_check=lambda hop: skip_reason(job, hop),
        )


_pools: dict[int, ThreadPoolExecutor] = {}


def _fetch_pool() -> ThreadPoolExecutor:
    """The process's fetch threads, started once (per process: prefork children fork)."""
    pool = _pools.get(os.getpid())
    if pool is None:
        _pools.clear()
        pool = _pools[os.getpid()] = ThreadPoolExecutor(
            max_workers=settings.CRAWL_FETCH_THREADS, thread_name_prefix="fetch"
        )
    return pool


def _indexing(
    job: JobConfig, entry: PageEntry, result: FetchResult, parsed: ParsedPage
) -> PageIndexing:
    return page_indexing(
        robots_meta=parsed.robots_meta,
        robots_header=result.robots_header,
        links=parsed.links,
        canonical=parsed.canonical,
        page_urls=(entry.url, result.final_url),
        follow_nofollow=job.follow_nofollow,
        in_scope=lambda url: in_scope(url, job.url, job.scope),
    )


def _followed(job: JobConfig, outcome: _Outcome) -> list[str]:
    """The URLs the crawl goes on to from a scraped page (sitemap URLs added after)."""
    if outcome.indexing is None or job.sitemap == SitemapMode.ONLY:
        return []
    return list(outcome.indexing.follow)


def invalid_sitemap_record(url: str, start: PageEntry) -> dict[str, Any]:
    record = skipped_record(PageEntry(url, 1, start.url), SITEMAP_INVALID)
    record["outcome"] = "failed"
    return record


def _page_record(outcome: _Outcome, stop_words: frozenset[str], job: JobConfig) -> dict[str, Any]:
    result, entry, parsed, indexing = (
        outcome.result,
        outcome.entry,
        outcome.parsed,
        outcome.indexing,
    )
    record: dict[str, Any] = {
        "url": entry.url,
        "fp": url_fingerprint(entry.url),
        "final_url": result.final_url,
        "status_code": result.status_code,
        "content_type": result.content_type[:200],
        "depth": entry.depth,
        "parent_url": entry.parent_url,
        "bytes": len(result.body),
        "fetched_at": datetime.now(UTC).isoformat(),
        "outcome": result.outcome,
        "reason": result.reason,
        "title": "",
        "text": "",
        "markdown": "",
        "source": "",
        "full_text": "",
        "noindex": False,
        "nofollow": False,
        "canonical_url": "",
        "is_canonical": True,
        "terms": {},
        "links": [],
        "images": [],
    }
    if parsed is not None:
        record["title"] = parsed.title
        content = parsed.content
        record["text"] = content.text
        record["markdown"] = content.markdown
        record["source"] = content.source.value
        record["full_text"] = parsed.text
        record["terms"] = count_terms(content.text, stop_words, ordered=False)
        record["links"] = [
            [link.url, in_scope(link.url, job.url, job.scope), link.nofollow]
            for link in parsed.links
        ]
        record["images"] = [[i.url, i.alt, i.title, i.caption] for i in parsed.images]
    if indexing is not None:
        record["noindex"] = indexing.noindex
        record["nofollow"] = indexing.nofollow
        record["canonical_url"] = indexing.canonical_url
        record["is_canonical"] = indexing.is_canonical
    return record


def batch_id_for(job_id: str, entries: list[PageEntry]) -> str:
    """Deterministic in the message's content, so a redelivery reuses the same id."""
    material = json.dumps([job_id, sorted((e.url, e.attempt) for e in entries)])
    return hashlib.sha1(material.encode()).hexdigest()[:24]


def _retry_delay(attempt: int, retry_after: float | None) -> int:
    backoff: float = settings.CRAWL_RETRY_BASE_SECONDS * (2**attempt)
    return max(1, math.ceil(max(backoff, retry_after or 0.0)))


def scrape_batch(*, job_id: str, entries: list[PageEntry], delivery_token: str) -> ScrapeReport:
    report = ScrapeReport()
    job = job_config(job_id)
    if job is None or job_is_stopped(job_id):
        report.dropped = len(entries)
        return report
    by_item = {job_state.page_item(url_fingerprint(e.url)): e for e in entries}
    with cpu_step("scraper: claim (Redis)"):
        claimed = job_state.claim(
            job_id=job_id,
            items=list(by_item),
            token=delivery_token,
            ttl=settings.CELERY_TASK_TIME_LIMIT + 2,
        )
    report.claimed, report.dropped = len(claimed), len(by_item) - len(claimed)
    if not claimed:
        # Every URL was done, or taken, by another message (a page offered again by a
        # shorter path): this delivery still frees its slot in the job's line and releases
        # the next held batch, or the job waits for the reaper with nothing in flight.
        dispatch(job_id, Discovery(), token=delivery_token)
        return report
    fault = settings.ISIDORUS_FAULT_SCRAPE_URL_REGEX
    if fault and any(re.search(fault, str(payload.get("u", ""))) for payload in claimed.values()):
        raise InjectedFault(f"fault injected for a URL matching {fault!r}")
    job_mark_running(job_id)

    # The open payload is authoritative: its depth may have been shortened since publish.
    work = [
        (item, replace(by_item[item], depth=int(payload.get("d", by_item[item].depth))))
        for item, payload in claimed.items()
    ]
    # Leave time after the fetches for parsing, admission, staging and publishing.
    deadline = time.monotonic() + max(1.0, settings.CELERY_TASK_SOFT_TIME_LIMIT * 0.7)
    results = list(_fetch_pool().map(lambda pair: _fetch_one(job, pair[1].url, deadline), work))

    outcomes: list[_Outcome] = []
    # (item, the entry to publish again, why): a retry spends an attempt, host_busy does not.
    again: list[tuple[str, PageEntry, FetchResult]] = []
    for (item, entry), result in zip(work, results, strict=True):
        if result.reason == HOST_BUSY:
            again.append((item, entry, result))
            continue
        if result.retryable and entry.attempt + 1 < settings.CRAWL_MAX_FETCH_ATTEMPTS:
            again.append((item, replace(entry, attempt=entry.attempt + 1), result))
            continue
        outcome = _Outcome(item=item, entry=entry, result=result)
        if result.outcome == "fetched" and result.body:
            with cpu_step("scraper: parse (HTML, text, links, main content, Markdown)"):
                outcome.parsed = parse_html(
                    result.body,
                    result.final_url,
                    header_charset=result.charset,
                    max_text_chars=settings.CRAWL_MAX_TEXT_CHARS,
                )
                outcome.indexing = _indexing(job, entry, result, outcome.parsed)
        outcomes.append(outcome)

    stop_words = _stop_words()
    with cpu_step("scraper: page records (terms, link canonicalisation)"):
        records = [_page_record(outcome, stop_words, job) for outcome in outcomes]
    sources = [LinkSource(o.item, o.entry, _followed(job, o)) for o in outcomes]
    sitemap_records: list[dict[str, Any]] = []
    for source in sources:
        if source.entry.depth == 0 and job.sitemap != SitemapMode.SKIP and job.depth >= 1:
            finding = find_sitemap_urls(job, deadline=deadline)
            # As links of the start page: admitted at depth 1, each URL once.
            source.links.extend(
                url for url in finding.urls if url not in source.links and url != source.entry.url
            )
            sitemap_records += [
                invalid_sitemap_record(url, source.entry) for url, _ in finding.invalid
            ]
    with cpu_step("scraper: admit (scope, robots, Redis admission)"):
        # Read before the admission: each of these was opened before this scrape offers
        # the page's links at its depth or shorter (services/expand.py).
        expands_done = expands_subsumed(job, [o.entry for o in outcomes])
        found = discover(job, [source for source in sources if source.links])
    # Each page carries its own duplicate links: they count once, with its row.
    for outcome, record in zip(outcomes, records, strict=True):
        record["dup"] = found.duplicates_of.get(outcome.item, 0)
    records += found.records + sitemap_records

    report.batch_id = batch_id_for(job_id, [entry for _, entry in work])
    key = staging_key(job_id, report.batch_id)
    if outcomes:
        with cpu_step("scraper: stage (encode, compress, S3 put)"):
            stage_put(job_id, key, {"pages": records, "duplicates": 0})
    with cpu_step("scraper: publish children (pacing, SQS)"):
        page_bytes = [len(o.result.body) for o in outcomes if o.parsed is not None]
        dispatch(job_id, found, token=delivery_token, batch_size=batch_size_for(page_bytes))
    report.children = len(found.to_fetch)

    if again:
        job_state.release_claims(job_id=job_id, items=[item for item, _, _ in again])
        for _, entry, result in again:
            logger.info(
                "fetching %s again (%s), attempt %d", entry.url, result.reason, entry.attempt + 1
            )
            publish(
                SCRAPE,
                ScrapeBody(job_id, (entry,)),
                delay_seconds=_retry_delay(entry.attempt, result.retry_after),
            )
        report.retried = len(again)

    closing = [outcome.item for outcome in outcomes] + expands_done
    if closing:
        publish(WRITE, WriteBody(job_id, report.batch_id, key, tuple(closing)))
    return report


def scrape_batch_split(*, job_id: str, entries: list[PageEntry], delivery_token: str) -> int:
    """Re-publish a failing batch one URL per message, so one poison URL cannot take its
    neighbours to the dead-letter queue with it. The items stay open throughout."""
    job_state.release_claims(
        job_id=job_id, items=[job_state.page_item(url_fingerprint(e.url)) for e in entries]
    )
    for entry in entries:
        publish(SCRAPE, ScrapeBody(job_id, (entry,)))
    dispatch(job_id, Discovery(), token=delivery_token)  # this batch's slot in line is free
    return len(entries)
