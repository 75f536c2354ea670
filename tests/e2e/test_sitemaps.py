"""Sitemaps end to end (issue 12): robots.txt Sitemap: lines, /sitemap.xml, an index, gzip
and text sitemaps, an invalid one, and the job's `sitemap` option (include, only, skip)."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from rest_framework.test import APIClient

from isidorus.scrapings.models import Page
from tests.e2e.crawling import wait_terminal
from tests.support.site import FixtureSite, Route

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
JOBS = "/api/v1/scrapings/"
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def _page(body: str) -> Route:
    return Route(body=f"<html><head><title>t</title></head><body>{body}</body></html>")


def _routes(site: FixtureSite) -> dict[str, Route]:
    def urlset(*paths: str) -> bytes:
        entries = "".join(f"<url><loc>{site.url(path)}</loc></url>" for path in paths)
        return f'<?xml version="1.0"?><urlset {NS}>{entries}</urlset>'.encode()

    nested = f"<sitemap><loc>{site.url('/maps/pages.xml.gz')}</loc></sitemap>"
    index = f"<sitemapindex {NS}>{nested}</sitemapindex>"
    xml = "application/xml"
    return {
        "/robots.txt": Route(
            body="User-agent: *\nDisallow: /private\n"
            f"Sitemap: {site.url('/maps/index.xml')}\nSitemap: {site.url('/maps/broken.xml')}\n",
            content_type="text/plain",
        ),
        "/maps/index.xml": Route(body=index, content_type=xml),
        "/maps/pages.xml.gz": Route(
            body=gzip.compress(urlset("/linked", "/orphan-1", "/orphan-2", "/private/x")),
            content_type="application/gzip",
        ),
        "/maps/broken.xml": Route(body="<urlset><url><loc>", content_type=xml),
        "/sitemap.xml": Route(body=f"{site.url('/orphan-3')}\n", content_type="text/plain"),
        "/": _page('<a href="/linked">linked</a> <a href="/only-linked">only linked</a>'),
        "/linked": _page('<a href="/deeper">deeper</a>'),
        "/only-linked": _page("<p>Reached by a link only.</p>"),
        "/deeper": _page("<p>Two hops down.</p>"),
        "/orphan-1": _page("<p>Only in the gzip sitemap.</p>"),
        "/orphan-2": _page("<p>Only in the gzip sitemap too.</p>"),
        "/orphan-3": _page("<p>Only in the text sitemap.</p>"),
    }


def _crawl(api: APIClient, site: FixtureSite, **options: Any) -> tuple[str, dict[str, Any]]:
    started = api.post(JOBS, {"url": site.url("/"), **options}, format="json")
    assert started.status_code == 202, started.json()
    job_id = str(started.json()["id"])
    return job_id, wait_terminal(job_id)


def _rows(job_id: str, site: FixtureSite) -> dict[str, tuple[str, str, int]]:
    rows = Page.objects.filter(scraping_id=job_id).values_list("url", "outcome", "reason", "depth")
    return {url.removeprefix(site.origin): (o, r, d) for url, o, r, d in rows}


def test_sitemaps_seed_the_crawl_and_the_option_says_how(api: APIClient, start_worker: Any) -> None:
    start_worker(stages=["scraper", "writer"], name="sitemaps", concurrency=2)
    with FixtureSite({}) as site:
        site.routes.update(_routes(site))
        job_id, item = _crawl(api, site, depth=1)
        assert item["status"] == "COMPLETED_WITH_ERRORS"  # the broken sitemap, recorded
        assert _rows(job_id, site) == {
            "/": ("fetched", "", 0),
            "/linked": ("fetched", "", 1),
            "/only-linked": ("fetched", "", 1),
            "/orphan-1": ("fetched", "", 1),
            "/orphan-2": ("fetched", "", 1),
            "/orphan-3": ("fetched", "", 1),
            "/private/x": ("skipped", "robots_disallowed", 1),
            "/maps/broken.xml": ("failed", "sitemap_invalid", 1),
        }
        assert (item["pages_fetched"], item["pages_failed"]) == (6, 1)

        only_id, only = _crawl(api, site, depth=2, sitemap="only")
        assert only["status"] == "COMPLETED_WITH_ERRORS"
        fetched = {path for path, row in _rows(only_id, site).items() if row[0] == "fetched"}
        # No links followed: neither /only-linked (from /) nor /deeper (from /linked).
        assert fetched == {"/", "/linked", "/orphan-1", "/orphan-2", "/orphan-3"}

        site.requests.clear()
        skip_id, skipped = _crawl(api, site, depth=1, sitemap="skip")
        assert skipped["status"] == "COMPLETED"
        assert set(_rows(skip_id, site)) == {"/", "/linked", "/only-linked"}
        assert not {path for path in site.requested_paths() if path.startswith("/maps")}
        assert "/sitemap.xml" not in site.requested_paths()
