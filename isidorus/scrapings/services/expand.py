"""Re-follow the links of pages whose depth was shortened after they were reached.

Workers admit URLs in parallel, so a page can first be reached by a longer path. When the
shorter path shows up (admission code E), an `expand:<fp>:<depth>` item is opened; the
expand items one discovery opened travel in one message, and this runs for them: once a
page itself is written, its stored links are admitted again at the shorter depth + 1,
which admits pages the depth limit had cut off and shortens the others (which may expand
in turn). The message's pages that are written are expanded together, in one admission
and one write batch, whose writer closes their items after the skipped rows they recorded
commit; the others wait in a new message.

A redelivery may find more pages written than its first delivery did, so one item can be
expanded in two write batches: the rows are upserts, and the writer counts an item's
duplicate links once (`ExpandCounted`).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

from isidorus import job_state
from isidorus.contracts import EXPAND, WRITE, PageEntry, ScrapeBody, WriteBody
from isidorus.crawling.indexing import followed_links
from isidorus.crawling.parse import Link as ParsedLink
from isidorus.crawling.scope import in_scope
from isidorus.crawling.urls import url_fingerprint
from isidorus.publishing import publish
from isidorus.scrapings.jobs import JobConfig, job_config, job_is_stopped
from isidorus.scrapings.models import Page, SitemapMode
from isidorus.scrapings.services.discover import LinkSource, discover, dispatch
from isidorus.scrapings.staging import stage_put, staging_key

WAIT_FOR_WRITE_SECONDS = 1


@dataclass(frozen=True)
class ExpandReport:
    expanded: int = 0
    waiting: int = 0
    done: int = 0  # closed already: expanded by another message
    dropped: bool = False


@dataclass(frozen=True)
class _Expansion:
    item: str
    entry: PageEntry
    fingerprint: str


def expands_subsumed(job: JobConfig, entries: list[PageEntry]) -> list[str]:
    """The open expand items of pages about to be scraped (`entries`, at their depth from
    the claim) that this scrape makes moot: an `expand:<fp>:<e>` re-offers the page's links
    at e + 1, and the scrape offers them at the page's depth + 1, no deeper (the claim read
    the shortest depth admitted so far, so an expand opened before it is at that depth or
    deeper). Its write batch closes them with the page: an expand of a page not scraped
    yet, the common case, costs no wait and no write of its own.

    Read before the scrape's admission; an expand opened after that read stays open and
    runs once the page is written."""
    candidates = [
        job_state.expand_item(url_fingerprint(entry.url), depth)
        for entry in entries
        for depth in range(entry.depth, job.depth)
    ]
    opened = job_state.which_open(job.id, candidates)
    return [item for item in candidates if item in opened]


def expand_pages(*, job_id: str, entries: list[PageEntry], token: str) -> ExpandReport:
    """Expand the written pages among `entries`; the rest wait for their write in a new
    message. `token` is the delivery's (the same on its redelivery): its pacing token."""
    job = job_config(job_id)
    if job is None or job_is_stopped(job_id):
        return ExpandReport(dropped=True)
    expansions = {}
    for entry in entries:
        fingerprint = url_fingerprint(entry.url)
        item = job_state.expand_item(fingerprint, entry.depth)
        expansions[item] = _Expansion(item, entry, fingerprint)
    page_items = {e.item: job_state.page_item(e.fingerprint) for e in expansions.values()}
    open_now = job_state.which_open(job_id, [*expansions, *page_items.values()])
    todo = [e for e in expansions.values() if e.item in open_now]
    # A page not written yet has no links in PostgreSQL: look again soon.
    waiting = [e for e in todo if page_items[e.item] in open_now]
    ready = [e for e in todo if page_items[e.item] not in open_now]
    if ready:
        _expand_written(job, ready, token)
    if waiting:
        body = ScrapeBody(job_id, tuple(e.entry for e in waiting))
        publish(EXPAND, body, delay_seconds=WAIT_FOR_WRITE_SECONDS)
    return ExpandReport(expanded=len(ready), waiting=len(waiting), done=len(expansions) - len(todo))


def _expand_written(job: JobConfig, expansions: list[_Expansion], token: str) -> None:
    pages = {
        page.url_hash: page
        for page in Page.objects.filter(
            scraping_id=job.id, url_hash__in=[e.fingerprint for e in expansions]
        )
    }
    links = _stored_links(job, list(pages.values()))
    sources = []
    for expansion in expansions:
        page = pages.get(expansion.fingerprint)
        followed: list[str] = []
        offered_before = False
        if page is not None:
            followed = _followed(job, page, links.get(page.pk, {}))
            # Written within the depth limit, its links were offered then: a link counts as
            # a duplicate once per page, not again at each shorter depth.
            offered_before = page.depth < job.depth
        sources.append(LinkSource(expansion.item, expansion.entry, followed, not offered_before))
    found = discover(job, sources)
    # After the admission, so a redelivery decides `offered_before` the same way.
    shortened: dict[int, list[int]] = defaultdict(list)
    for expansion in expansions:
        page = pages.get(expansion.fingerprint)
        if page is not None:
            shortened[expansion.entry.depth].append(page.pk)
    for depth, page_ids in shortened.items():
        Page.objects.filter(pk__in=page_ids, depth__gt=depth).update(depth=depth)
    items = sorted(e.item for e in expansions)
    batch_id = "expand-" + hashlib.sha1("\n".join(items).encode()).hexdigest()[:24]
    key = staging_key(job.id, batch_id)
    duplicates_of = {item: found.duplicates_of.get(item, 0) for item in items}
    stage_put(job.id, key, {"pages": found.records, "duplicates_of": duplicates_of})
    dispatch(job.id, found, token=f"{token}:expand")
    publish(WRITE, WriteBody(job.id, batch_id, key, tuple(items)))


def _stored_links(job: JobConfig, pages: list[Page]) -> dict[int, dict[str, bool]]:
    """Each page's stored links, {target url: nofollow} in their stored order."""
    links: dict[int, dict[str, bool]] = defaultdict(dict)
    if job.sitemap == SitemapMode.ONLY:
        return links
    for page in pages:
        for url, _, nofollow in page.links:
            links[page.pk][url] = nofollow
    return links


def _followed(job: JobConfig, page: Page, stored: dict[str, bool]) -> list[str]:
    """The same links the scraper followed from this page (crawling/indexing.py)."""
    if job.sitemap == SitemapMode.ONLY:
        return []
    return followed_links(
        [ParsedLink(url, nofollow) for url, nofollow in stored.items()],
        page_nofollow=page.nofollow,
        follow_nofollow=job.follow_nofollow,
        canonical=None if page.is_canonical else _in_scope_or_none(job, page.canonical_url),
    )


def _in_scope_or_none(job: JobConfig, url: str) -> str | None:
    return url if url and in_scope(url, job.url, job.scope) else None
