"""Links and indexing rules end to end (issue 12): rel=nofollow, robots meta tags and
X-Robots-Tag, noindex, and rel=canonical, on a fixture site crawled through the API."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from isidorus.scrapings.models import Link, Page
from tests.e2e.crawling import wait_terminal
from tests.support.site import FixtureSite, Route

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
JOBS = "/api/v1/scrapings/"


def _page(body: str, head: str = "", headers: dict[str, str] | None = None) -> Route:
    html = f"<html><head><title>t</title>{head}</head><body>{body}</body></html>"
    return Route(body=html, headers=headers or {})


ROUTES = {
    "/": _page(
        '<a href="/plain">plain</a> <a href="/nofollowed" rel="nofollow">ad</a>'
        ' <a href="/meta-nofollow">m</a> <a href="/header-nofollow">h</a>'
        ' <a href="/noindex">n</a> <a href="/duplicate">d</a> <a href="/loop-a">l</a>'
    ),
    "/plain": _page("<p>An ordinary page about the harbour.</p>"),
    "/nofollowed": _page("<p>Only reached with follow_nofollow.</p>"),
    "/meta-nofollow": _page(
        '<a href="/behind-meta">b</a>', head='<meta name="robots" content="nofollow">'
    ),
    "/behind-meta": _page("<p>Behind a robots meta nofollow.</p>"),
    "/header-nofollow": _page(
        '<a href="/behind-header">b</a>', headers={"X-Robots-Tag": "nofollow"}
    ),
    "/behind-header": _page("<p>Behind an X-Robots-Tag nofollow.</p>"),
    "/noindex": _page(
        '<p>The zebrafish page is not for indexes.</p><a href="/behind-noindex">b</a>',
        head='<meta name="robots" content="noindex">',
    ),
    "/behind-noindex": _page("<p>Linked from a noindex page, still crawled.</p>"),
    "/duplicate": _page(
        "<p>The giraffe guide, printer-friendly copy.</p>",
        head='<link rel="canonical" href="/canonical">',
    ),
    "/canonical": _page("<p>The giraffe guide, printer-friendly copy.</p>"),
    "/loop-a": _page("<p>Loop a.</p>", head='<link rel="canonical" href="/loop-b">'),
    "/loop-b": _page("<p>Loop b.</p>", head='<link rel="canonical" href="/loop-a">'),
}
NOT_FOLLOWED = {"/nofollowed", "/behind-meta", "/behind-header"}


def _crawl(api: APIClient, site: FixtureSite, **options: Any) -> str:
    started = api.post(JOBS, {"url": site.url("/"), "depth": 2, **options}, format="json")
    assert started.status_code == 202, started.json()
    job_id = str(started.json()["id"])
    item = wait_terminal(job_id)
    assert item["status"] == "COMPLETED", item
    return job_id


def _fetched(job_id: str, site: FixtureSite) -> set[str]:
    pages = Page.objects.filter(scraping_id=job_id, outcome="fetched")
    return {page.url.removeprefix(site.origin) or "/" for page in pages}


def _search(api: APIClient, job_id: str, q: str, **flags: str) -> list[str]:
    found = api.get("/api/v1/search/", {"q": q, "scraping": job_id, **flags}).json()
    return sorted(hit["page"]["url"].rsplit("/", 1)[1] for hit in found["results"])


def test_nofollow_noindex_and_canonical_rules(api: APIClient, start_worker: Any) -> None:
    start_worker(stages=["scraper", "writer"], name="indexing", concurrency=2)
    with FixtureSite(ROUTES) as site:
        job_id = _crawl(api, site)
        # Canonical targets are admitted like links, and a loop of them ends.
        assert _fetched(job_id, site) == set(ROUTES) - NOT_FOLLOWED
        requested = set(site.requested_paths())
        assert not requested & NOT_FOLLOWED
        # Links are recorded whether followed or not.
        nofollowed = Link.objects.get(scraping_id=job_id, target_url=site.url("/nofollowed"))
        assert nofollowed.nofollow

        pages = {
            page["url"].removeprefix(site.origin) or "/": page
            for page in api.get(f"{JOBS}{job_id}/pages/?page_size=100").json()["results"]
        }
        flags = {
            path: (page["noindex"], page["nofollow"], page["is_canonical"])
            for path, page in pages.items()
        }
        assert flags["/noindex"] == (True, False, True)
        assert flags["/meta-nofollow"] == (False, True, True)
        assert flags["/header-nofollow"] == (False, True, True)
        assert flags["/duplicate"] == (False, False, False)
        assert flags["/canonical"] == (False, False, True)
        assert pages["/duplicate"]["canonical_url"] == site.url("/canonical")
        assert (flags["/loop-a"][2], flags["/loop-b"][2]) == (False, False)

        # noindex: in the page list, not in search or the job's terms unless asked.
        assert _search(api, job_id, "zebrafish") == []
        assert _search(api, job_id, "zebrafish", include_noindex="true") == ["noindex"]
        terms = api.get(f"{JOBS}{job_id}/terms/", {"prefix": "zebra"}).json()["results"]
        assert terms == []
        # A duplicate of a canonical page is found only when asked for.
        assert _search(api, job_id, "giraffe") == ["canonical"]
        assert _search(api, job_id, "giraffe", include_duplicates="true") == [
            "canonical",
            "duplicate",
        ]

        everything = _crawl(api, site, follow_nofollow=True)
        assert _fetched(everything, site) == set(ROUTES)
        detail = api.get(f"{JOBS}{everything}/").json()
        assert detail["follow_nofollow"] is True
