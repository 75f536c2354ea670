"""expand_pages, called directly: a written page reached again by a shorter path re-offers
the same links the scraper followed from it (nofollow and canonical rules included); the
pages of one message are expanded in one write batch, and those not written yet wait."""

from __future__ import annotations

from typing import Any

import pytest

from config.queues import SCRAPER, WRITER
from isidorus import job_state
from isidorus.contracts import EXPAND, SCRAPE, PageEntry
from isidorus.crawling.urls import url_fingerprint
from isidorus.scrapings.models import Page, Scraping
from isidorus.scrapings.services import expand
from isidorus.scrapings.services.discover import Discovery, dispatch
from isidorus.scrapings.services.expand import ExpandReport, expand_pages
from isidorus.scrapings.services.finish import items_close
from tests.core.conftest import NewJob
from tests.support.batches import take

pytestmark = pytest.mark.django_db
ORIGIN = "http://127.0.0.1:9"


def _written_page(job_id: str, path: str, **flags: Any) -> Page:
    url = f"{ORIGIN}{path}"
    links = [
        [f"{ORIGIN}{target}", True, nofollow]
        for target, nofollow in (("/plain", False), ("/sponsored", True))
    ]
    return Page.objects.create(
        scraping_id=job_id, url=url, url_hash=url_fingerprint(url), depth=3,
        outcome="fetched", links=links, **flags,
    )  # fmt: skip


def _expand_to_depth_1(job_id: str, page: Page) -> list[str]:
    """Expand `page` to depth 1; the paths of the scrape messages it published."""
    item = job_state.expand_item(page.url_hash, 1)
    entry = PageEntry(page.url, depth=1, parent_url=f"{ORIGIN}/")
    job_state.open_new(job_id, {item: entry.to_wire()})
    assert expand_pages(job_id=job_id, entries=[entry], token="t") == ExpandReport(expanded=1)
    return sorted(
        PageEntry.from_wire(wire).url.removeprefix(ORIGIN)
        for _, body in take(SCRAPER)
        for wire in body["items"]
    )


@pytest.mark.parametrize(
    ("flags", "follow_nofollow", "expected"),
    [
        ({}, False, ["/plain"]),
        ({}, True, ["/plain", "/sponsored"]),
        ({"nofollow": True}, False, []),
        ({"nofollow": True}, True, ["/plain", "/sponsored"]),
        (
            {"nofollow": True, "is_canonical": False, "canonical_url": f"{ORIGIN}/main"},
            False,
            ["/main"],
        ),
        (
            {"is_canonical": False, "canonical_url": "https://elsewhere.example/main"},
            False,
            ["/plain"],
        ),
    ],
)
def test_an_expanded_page_follows_the_links_its_scrape_followed(
    new_job: NewJob, flags: dict[str, Any], follow_nofollow: bool, expected: list[str]
) -> None:
    job_id = new_job(f"{ORIGIN}/", depth=3)
    Scraping.objects.filter(pk=job_id).update(follow_nofollow=follow_nofollow)
    page = _written_page(job_id, "/deep", **flags)
    assert _expand_to_depth_1(job_id, page) == expected


def test_the_written_pages_of_a_message_expand_in_one_batch_and_the_others_wait(
    new_job: NewJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(expand, "WAIT_FOR_WRITE_SECONDS", 0)
    job_id = new_job(f"{ORIGIN}/", depth=3)
    written = [_written_page(job_id, path) for path in ("/one", "/two")]
    entries = [PageEntry(page.url, depth=1, parent_url=f"{ORIGIN}/") for page in written]
    unwritten = PageEntry(f"{ORIGIN}/unwritten", depth=1, parent_url=f"{ORIGIN}/")
    expanded_before = PageEntry(f"{ORIGIN}/expanded", depth=1, parent_url=f"{ORIGIN}/")
    job_state.open_new(job_id, {job_state.page_item(url_fingerprint(unwritten.url)): {}})
    items = {
        job_state.expand_item(url_fingerprint(entry.url), 1): entry.to_wire()
        for entry in (*entries, unwritten)
    }
    job_state.open_new(job_id, items)

    report = expand_pages(job_id=job_id, entries=[*entries, unwritten, expanded_before], token="t")

    assert report == ExpandReport(expanded=2, waiting=1, done=1)
    ((_, write),) = take(WRITER)
    assert sorted(write["items"]) == sorted(list(items)[:2])
    assert Page.objects.filter(pk__in=[page.pk for page in written], depth=1).count() == 2
    messages = take(SCRAPER)
    waiting = [body for name, body in messages if name == EXPAND.name]
    assert [[PageEntry.from_wire(w) for w in body["items"]] for body in waiting] == [[unwritten]]
    fetched = {
        PageEntry.from_wire(w).url for name, body in messages if name == SCRAPE.name
        for w in body["items"]
    }  # fmt: skip
    assert fetched == {f"{ORIGIN}/plain"}  # offered by both pages, admitted once


def _expands_published() -> list[list[PageEntry]]:
    return [
        [PageEntry.from_wire(wire) for wire in body["items"]]
        for name, body in take(SCRAPER)
        if name == EXPAND.name
    ]


def _shortened(job_id: str, path: str) -> tuple[PageEntry, str]:
    """A page admitted at depth 3, then reached at depth 1: its page and expand items open."""
    url = f"{ORIGIN}{path}"
    page = job_state.page_item(url_fingerprint(url))
    job_state.open_new(job_id, {page: PageEntry(url, 3, f"{ORIGIN}/a/b").to_wire()})
    entry = PageEntry(url, depth=1, parent_url=f"{ORIGIN}/")
    job_state.open_new(job_id, {job_state.expand_item(url_fingerprint(url), 1): entry.to_wire()})
    return entry, page


def test_a_page_shortened_before_its_write_is_expanded_when_its_item_closes(
    new_job: NewJob,
) -> None:
    """No message waits for the write (70 of them, none expanding anything, on a
    2,000-page `docs-small` crawl): the page's closer publishes the expand instead."""
    job_id = new_job(f"{ORIGIN}/", depth=3)
    entry, page = _shortened(job_id, "/deep")
    dispatch(job_id, Discovery(to_expand=[entry]), token="t")
    assert _expands_published() == []

    _written_page(job_id, "/deep")
    items_close(job_id, [page])
    assert _expands_published() == [[entry]]
    # Redelivered, the closer finds the expand still open and publishes it again (the
    # expand's claim drops the duplicate).
    items_close(job_id, [page])
    assert _expands_published() == [[entry]]


def test_a_page_shortened_after_its_write_is_expanded_at_once(new_job: NewJob) -> None:
    job_id = new_job(f"{ORIGIN}/", depth=3)
    entry, page = _shortened(job_id, "/deep")
    _written_page(job_id, "/deep")
    items_close(job_id, [page])  # closed first: the closer sees its expand open...
    assert _expands_published() == [[entry]]
    dispatch(job_id, Discovery(to_expand=[entry]), token="t")
    assert _expands_published() == [[entry]]  # ...and so does the discovery, after it


def test_an_expand_closed_with_its_page_is_not_published(new_job: NewJob) -> None:
    job_id = new_job(f"{ORIGIN}/", depth=3)
    entry, page = _shortened(job_id, "/deep")
    _written_page(job_id, "/deep")
    # The page's scrape read the expand before its admission (expands_subsumed).
    items_close(job_id, [page, job_state.expand_item(url_fingerprint(entry.url), 1)])
    assert _expands_published() == []
    assert job_state.open_items(job_id) == {}
