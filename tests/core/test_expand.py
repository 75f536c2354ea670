"""expand_page, called directly: a written page reached again by a shorter path re-offers
the same links the scraper followed from it (nofollow and canonical rules included)."""

from __future__ import annotations

from typing import Any

import pytest

from config.queues import SCRAPER
from isidorus import job_state
from isidorus.contracts import PageEntry
from isidorus.crawling.urls import url_fingerprint
from isidorus.scrapings.models import Link, Page, Scraping
from isidorus.scrapings.services.expand import expand_page
from tests.core.conftest import NewJob
from tests.support.batches import take

pytestmark = pytest.mark.django_db
ORIGIN = "http://127.0.0.1:9"


def _written_page(job_id: str, path: str, **flags: Any) -> Page:
    url = f"{ORIGIN}{path}"
    page = Page.objects.create(
        scraping_id=job_id, url=url, url_hash=url_fingerprint(url), depth=3,
        outcome="fetched", **flags,
    )  # fmt: skip
    for target, nofollow in (("/plain", False), ("/sponsored", True)):
        Link.objects.create(
            scraping_id=job_id, page=page, target_url=f"{ORIGIN}{target}", internal=True,
            nofollow=nofollow,
        )  # fmt: skip
    return page


def _expand_to_depth_1(job_id: str, page: Page) -> list[str]:
    """Expand `page` to depth 1; the paths of the scrape messages it published."""
    item = job_state.expand_item(page.url_hash, 1)
    entry = PageEntry(page.url, depth=1, parent_url=f"{ORIGIN}/")
    job_state.open_new(job_id, {item: entry.to_wire()})
    assert expand_page(job_id=job_id, entry=entry) == "expanded"
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
