"""Content people can use, end to end (issue 12): a crawl of documentation, blog and forum
pages with sidebars, tables of contents and navigation, read back through the API. Every
page comes with its summary and its main content as Markdown; navigation text is in none
of them, nor in search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.e2e.crawling import wait_terminal
from tests.support.site import FixtureSite, Route

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
JOBS = "/api/v1/scrapings/"
CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "extraction" / "pages"
PAGES = {
    "/docs/install.html": "sphinx-install",
    "/docs/api.html": "sphinx-api",
    "/guide/quickstart/": "mkdocs-quickstart",
    "/blog/sourdough.html": "blog-sourdough",
    "/forum/thread.html": "forum-thread",
}
# Words of the Sphinx sidebar and relbar only, never of a page's content.
NAVIGATION = ("Previous topic", "Next topic", "Quick search", "Table of Contents")


@pytest.fixture
def crawled(
    api: APIClient, start_worker: Any, enrichment_on: dict[str, str]
) -> Iterator[tuple[str, FixtureSite]]:
    links = "".join(f'<li><a href="{path}">{name}</a></li>' for path, name in PAGES.items())
    routes = {"/": Route(body=f"<html><body><h1>Corpus</h1><ul>{links}</ul></body></html>")}
    for path, name in PAGES.items():
        routes[path] = Route(body=(CORPUS / f"{name}.html").read_bytes())
    with FixtureSite(routes) as site:
        start_worker(name="content", concurrency=2, env=enrichment_on)  # all four queues
        started = api.post(JOBS, {"url": site.url("/"), "depth": 1}, format="json")
        assert started.status_code == 202, started.json()
        job_id = started.json()["id"]
        wait_terminal(job_id)
        yield job_id, site


def test_pages_come_with_summaries_and_markdown_and_search_skips_navigation(
    api: APIClient, crawled: tuple[str, FixtureSite]
) -> None:
    job_id, site = crawled
    listed = api.get(f"{JOBS}{job_id}/pages/?page_size=100").json()["results"]
    by_path = {page["url"].removeprefix(site.origin): page for page in listed}
    for path in PAGES:
        page = by_path[path]
        assert (page["outcome"], page["content_source"]) == ("fetched", "main"), path
        assert page["summary"], path
        assert page["summary_model"] == "offline/extractive"

    install = api.get(f"{JOBS}{job_id}/pages/{by_path['/docs/install.html']['id']}/").json()
    assert install["content_markdown"].startswith("# Installing Larkspur\n\nLarkspur runs on")
    assert "```\n$ env/bin/larkspur doctor\n```" in install["content_markdown"]
    assert "Larkspur runs on any system with Python 3.10 or newer." in install["summary"]
    for furniture in NAVIGATION:
        assert furniture in install["full_text"]
        for field in ("content_markdown", "text", "summary"):
            assert furniture not in install[field], (furniture, field)

    # Search reads the content, not the navigation: "topic" is only in the Sphinx
    # sidebar's "Previous topic" and "Next topic".
    assert api.get("/api/v1/search/", {"q": "topic", "scraping": job_id}).json()["results"] == []
    found = api.get("/api/v1/search/", {"q": "self-check", "scraping": job_id}).json()
    hit = found["results"][0]
    assert hit["page"]["url"] == site.url("/docs/install.html")
    assert "<mark>" in hit["snippet"]
    for furniture in NAVIGATION:
        assert furniture not in hit["snippet"]
