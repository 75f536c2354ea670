"""From a page's links to admitted work: classify each link, admit them all in one Redis
script, and turn the codes into messages to publish and skipped rows to write.

Shared by the scraper (links of pages it just fetched) and the expander (links of a page
whose depth was shortened after it was written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from isidorus import job_state
from isidorus.contracts import EXPAND, SCRAPE, PageEntry, ScrapeBody
from isidorus.crawling.scope import in_scope
from isidorus.crawling.urls import url_fingerprint
from isidorus.job_state.limits import daily_quota_key, seconds_until_utc_midnight
from isidorus.publishing import publish, publish_paced
from isidorus.scrapings.jobs import JobConfig
from isidorus.scrapings.robots_cache import robots_rules

REFUSAL_REASONS = {job_state.Code.LIMIT: "limit_reached", job_state.Code.QUOTA: "quota_exceeded"}


@dataclass
class Discovery:
    records: list[dict[str, Any]] = field(default_factory=list)
    to_fetch: list[PageEntry] = field(default_factory=list)
    to_expand: list[PageEntry] = field(default_factory=list)
    # Parent work item -> its links that were duplicates, as first counted (job_state).
    duplicates_of: dict[str, int] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return sum(self.duplicates_of.values())


@dataclass(frozen=True)
class LinkSource:
    item: str  # the parent's open work item (a page, or an expand of it)
    entry: PageEntry  # the parent
    links: list[str]
    # False: these links were offered (and their duplicates counted) at an earlier depth.
    count_duplicates: bool = True


# skip_reason depends only on the job's fixed options and the URL (robots.txt is stored
# once per job and host), and a site's pages repeat the same links: a per-process memo in
# two generations, so that filling it keeps the URLs still in use (those read again since
# the last turn) instead of forgetting every URL at once. A generation holds every URL of
# a 50,000-page site (12 MB); a larger crawl holds two at most.
_skip_reasons: dict[tuple[str, str], str | None] = {}
_skip_reasons_before: dict[tuple[str, str], str | None] = {}
_SKIP_REASONS_LIMIT = 1 << 16


def skip_reason(job: JobConfig, url: str) -> str | None:
    """Why a discovered URL is recorded as skipped rather than fetched (None: fetch it)."""
    global _skip_reasons, _skip_reasons_before
    key = (job.id, url)
    if key in _skip_reasons:
        return _skip_reasons[key]
    reason = _skip_reasons_before[key] if key in _skip_reasons_before else _skip_reason(job, url)
    if len(_skip_reasons) >= _SKIP_REASONS_LIMIT:
        _skip_reasons_before, _skip_reasons = _skip_reasons, {}
    _skip_reasons[key] = reason
    return reason


def _skip_reason(job: JobConfig, url: str) -> str | None:
    if len(url) > settings.CRAWL_MAX_URL_LENGTH:
        return "url_too_long"
    if not in_scope(url, job.url, job.scope):
        return "out_of_scope"
    if not job.url_filter.allows(url):
        return "filtered"
    if job.respect_robots and not robots_rules(job.id, url).allows(url):
        return "robots_disallowed"
    return None


def skipped_record(entry: PageEntry, reason: str) -> dict[str, Any]:
    return {
        "url": entry.url, "fp": url_fingerprint(entry.url), "final_url": "",
        "status_code": None, "content_type": "", "depth": entry.depth,
        "parent_url": entry.parent_url, "bytes": 0,
        "fetched_at": None, "outcome": "skipped", "reason": reason, "title": "", "text": "",
        "terms": {}, "links": [], "images": [],
    }  # fmt: skip


def discover(job: JobConfig, sources: list[LinkSource]) -> Discovery:
    """Admit the links of each source at its parent's depth + 1.

    A URL already offered at the same depth earlier in this call is counted as a
    duplicate without offering it again: the script would answer D for it anyway (only
    its first offer can admit it, shorten it, or be the parent a redelivery republishes),
    and pages of one site share most of their links.
    """
    candidates: list[job_state.Candidate] = []
    # (url, depth, parent url, the reason to skip it if any): a PageEntry is made only for
    # the few that are not duplicates.
    entries: list[tuple[str, int, str, str | None]] = []
    tallies: list[job_state.DuplicateTally] = []
    offered: set[tuple[str, int]] = set()
    found = Discovery()
    for source in sources:
        parent = source.entry
        depth = parent.depth + 1
        if depth > job.depth or not source.links:
            continue
        parent_fp = url_fingerprint(parent.url)
        dropped = 0
        for url in source.links:
            if (url, depth) in offered:
                dropped += 1
                continue
            offered.add((url, depth))
            reason = skip_reason(job, url)
            candidates.append(
                job_state.Candidate(
                    fingerprint=url_fingerprint(url),
                    depth=depth,
                    fetch=reason is None,
                    url=url,
                    parent_url=parent.url,
                    parent_fingerprint=parent_fp,
                )
            )
            entries.append((url, depth, parent.url, reason))
        tallies.append(
            job_state.DuplicateTally(parent_fp, source.item, dropped, source.count_duplicates)
        )
    admission = job_state.admit_counted(
        job_id=job.id,
        candidates=candidates,
        tallies=tallies,
        max_pages=job.max_pages,
        quota_key=daily_quota_key(job.owner_id),
        quota_limit=settings.ISIDORUS_DAILY_PAGE_QUOTA,
        quota_ttl=seconds_until_utc_midnight() + 3600,
        max_depth=job.depth,
    )
    found.duplicates_of = admission.duplicates
    codes = admission.codes
    for code, (url, depth, parent_url, reason) in zip(codes, entries, strict=True):
        if code == job_state.Code.DUPLICATE or code == job_state.Code.SHORTER:
            continue
        entry = PageEntry(url, depth, parent_url)
        if code in (job_state.Code.ADMITTED, job_state.Code.REPUBLISH):
            found.to_fetch.append(entry)
        elif code in (job_state.Code.EXPAND, job_state.Code.REPUBLISH_EXPAND):
            found.to_expand.append(entry)
        elif code == job_state.Code.NEW_SKIP:
            found.records.append(skipped_record(entry, reason or ""))
        elif code in REFUSAL_REASONS:
            found.records.append(skipped_record(entry, REFUSAL_REASONS[code]))
    return found


def dispatch(
    job_id: str,
    found: Discovery,
    *,
    token: str,
    stage_worker: bool = True,
    expands_of_unwritten: bool = False,
    batch_size: int | None = None,
) -> None:
    """Publish the admitted work (its items are already open): scrape batches through the
    job's pacing (publish_paced), which also frees the slot of the delivery `token` that
    found them and releases batches the job held back.

    The pages a discovery shortened are expanded together (services/expand.py), only those
    already written unless `expands_of_unwritten`: a page still open is expanded by the
    scrape that writes it, or when its item closes (expands_of_closed_pages)."""
    size = batch_size or settings.CRAWL_BATCH_SIZE
    bodies = [
        ScrapeBody(job_id, tuple(found.to_fetch[start : start + size]))
        for start in range(0, len(found.to_fetch), size)
    ]
    publish_paced(SCRAPE, bodies, job_id=job_id, token=token, stage_worker=stage_worker)
    expands = found.to_expand if expands_of_unwritten else _written(job_id, found.to_expand)
    publish_expands(job_id, expands)


def batch_size_for(page_bytes: list[int]) -> int:
    """URLs per scrape message for the links found on pages of these sizes (bytes):
    CRAWL_BATCH_SIZE, and more for small pages, so that a message holds about
    CRAWL_BATCH_BYTES of HTML, at most CRAWL_BATCH_GROWTH times as many URLs."""
    size: int = settings.CRAWL_BATCH_SIZE
    if not page_bytes:
        return size
    fits = settings.CRAWL_BATCH_BYTES * len(page_bytes) // max(1, sum(page_bytes))
    return max(size, min(size * settings.CRAWL_BATCH_GROWTH, fits))


def publish_expands(job_id: str, entries: list[PageEntry]) -> None:
    size = settings.CRAWL_BATCH_SIZE
    for start in range(0, len(entries), size):
        publish(EXPAND, ScrapeBody(job_id, tuple(entries[start : start + size])))


def expands_of_closed_pages(job_id: str, depth: int, closed: list[str]) -> None:
    """Publish the open expand items of the pages among `closed`, items just closed.

    Their discovery left them to the page's writer (dispatch): an expand item opened before
    the page's scrape read it is closed with the page; one opened later is published here.
    A closer that dies before this line is redelivered, closes again and reads them again.
    """
    pages = [item.removeprefix(job_state.PAGE.prefix) for item in closed]
    candidates = [
        job_state.expand_item(fingerprint, shorter)
        for item, fingerprint in zip(closed, pages, strict=True)
        if job_state.PAGE.holds(item)
        for shorter in range(depth)
    ]
    found = job_state.open_payloads(job_id, candidates)
    publish_expands(job_id, [PageEntry.from_payload(payload) for payload in found.values()])


def _written(job_id: str, entries: list[PageEntry]) -> list[PageEntry]:
    """The entries whose page item is closed: their page's row is written.

    Read after the admission that opened their expand items, as the closer of a page item
    reads its expand items after the close (expands_of_closed_pages): whichever of the two
    comes second sees both the expand open and the page closed, and publishes it."""
    pages = [job_state.page_item(url_fingerprint(entry.url)) for entry in entries]
    still_open = job_state.which_open(job_id, pages)
    return [entry for entry, page in zip(entries, pages, strict=True) if page not in still_open]
