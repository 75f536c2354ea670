"""Re-follow the links of a page whose depth was shortened after it was reached.

Workers admit URLs in parallel, so a page can first be reached by a longer path. When the
shorter path shows up (admission code E), an `expand:<fp>:<depth>` item is opened and this
runs: once the page itself is written, its stored links are admitted again at the shorter
depth + 1, which admits pages the depth limit had cut off and shortens the others (which
may expand in turn). Its item closes through the writer, after any skipped rows it
recorded are committed.
"""

from __future__ import annotations

from isidorus import job_state
from isidorus.contracts import EXPAND, WRITE, PageEntry, ScrapeBody, WriteBody
from isidorus.crawling.indexing import followed_links
from isidorus.crawling.parse import Link as ParsedLink
from isidorus.crawling.scope import in_scope
from isidorus.crawling.urls import url_fingerprint
from isidorus.publishing import publish
from isidorus.scrapings.jobs import JobConfig, job_config, job_is_stopped
from isidorus.scrapings.models import Link, Page, SitemapMode
from isidorus.scrapings.services.discover import LinkSource, discover, dispatch
from isidorus.scrapings.staging import stage_put, staging_key

WAIT_FOR_WRITE_SECONDS = 1


def expand_page(*, job_id: str, entry: PageEntry) -> str:
    job = job_config(job_id)
    if job is None or job_is_stopped(job_id):
        return "dropped"
    fingerprint = url_fingerprint(entry.url)
    depth = entry.depth
    item = job_state.expand_item(fingerprint, depth)
    if not job_state.is_open(job_id, item):
        return "done"
    if job_state.is_open(job_id, job_state.page_item(fingerprint)):
        # The page is not written yet; its links are not in PostgreSQL. Look again soon.
        publish(EXPAND, ScrapeBody(job_id, (entry,)), delay_seconds=WAIT_FOR_WRITE_SECONDS)
        return "waiting"
    page = Page.objects.filter(scraping_id=job_id, url_hash=fingerprint).first()
    links: list[str] = []
    offered_before = False
    if page is not None and job.sitemap != SitemapMode.ONLY:
        stored = Link.objects.filter(page=page).order_by("id").values_list("target_url", "nofollow")
        # The same links the scraper followed from this page (crawling/indexing.py).
        links = followed_links(
            [ParsedLink(url, nofollow) for url, nofollow in dict(stored).items()],
            page_nofollow=page.nofollow,
            follow_nofollow=job.follow_nofollow,
            canonical=None if page.is_canonical else _in_scope_or_none(job, page.canonical_url),
        )
        # Written within the depth limit, its links were offered then: a link counts as a
        # duplicate once per page, not again at each shorter depth.
        offered_before = page.depth < job.depth
    source = LinkSource(item, entry, links, not offered_before)
    found = discover(job, [source])
    if page is not None:
        # After the admission, so a redelivery decides `offered_before` the same way.
        Page.objects.filter(pk=page.pk, depth__gt=depth).update(depth=depth)
    batch_id = f"expand-{fingerprint[:16]}-{depth}"
    key = staging_key(job_id, batch_id)
    stage_put(job_id, key, {"pages": found.records, "duplicates": found.duplicates})
    # The same token on every redelivery of this expand: it re-publishes what it released.
    dispatch(job_id, found, token=f"{item}:expand")
    publish(WRITE, WriteBody(job_id, batch_id, key, (item,)))
    return "expanded"


def _in_scope_or_none(job: JobConfig, url: str) -> str | None:
    return url if url and in_scope(url, job.url, job.scope) else None
