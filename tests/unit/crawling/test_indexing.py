"""Robots directives, nofollow and canonical links (isidorus/crawling/indexing.py)."""

from __future__ import annotations

from typing import Any

import pytest

from isidorus.crawling.indexing import followed_links, page_indexing, robots_directives
from isidorus.crawling.parse import Link, parse_html

PAGE = "https://site.example/docs/a.html"


@pytest.mark.parametrize(
    ("meta", "header", "expected"),
    [
        ([], "", set()),
        (["noindex, follow"], "", {"noindex"}),
        (["NOFOLLOW"], "", {"nofollow"}),
        (["none"], "", {"noindex", "nofollow"}),
        (["all", "noarchive, max-snippet:20"], "", set()),
        ([], "noindex", {"noindex"}),
        ([], "noarchive, nofollow", {"nofollow"}),
        ([], "otherbot: noindex, nofollow", {"nofollow"}),
        ([], "otherbot: noindex", set()),
        ([], "Isidorus: noindex", {"noindex"}),
        (["noindex"], "nofollow", {"noindex", "nofollow"}),
    ],
)
def test_robots_directives_from_meta_tags_and_the_header(
    meta: list[str], header: str, expected: set[str]
) -> None:
    assert robots_directives(meta, header) == expected


LINKS = [Link("https://site.example/b", False), Link("https://site.example/ad", True)]


def test_nofollow_links_are_not_followed_unless_the_job_says_so() -> None:
    assert followed_links(LINKS, page_nofollow=False, follow_nofollow=False) == [
        "https://site.example/b"
    ]
    assert followed_links(LINKS, page_nofollow=True, follow_nofollow=False) == []
    every = ["https://site.example/b", "https://site.example/ad"]
    assert followed_links(LINKS, page_nofollow=True, follow_nofollow=True) == every


def test_a_canonical_url_is_followed_once_even_from_a_nofollow_page() -> None:
    canonical = "https://site.example/c"
    assert followed_links(
        LINKS, page_nofollow=True, follow_nofollow=False, canonical=canonical
    ) == [canonical]
    assert followed_links(
        LINKS, page_nofollow=False, follow_nofollow=False, canonical="https://site.example/b"
    ) == ["https://site.example/b"]


def _indexing(html: str, *, header: str = "", final_url: str = PAGE, scope: str = "site") -> Any:
    parsed = parse_html(html.encode(), final_url)
    return page_indexing(
        robots_meta=parsed.robots_meta,
        robots_header=header,
        links=parsed.links,
        canonical=parsed.canonical,
        page_urls=(PAGE, final_url),
        follow_nofollow=False,
        in_scope=lambda url: url.startswith(f"https://{scope}.example/"),
    )


def test_a_page_naming_itself_canonical_is_canonical() -> None:
    for href in ("a.html", "", "https://SITE.example:443/docs/a.html#top"):
        indexing = _indexing(f'<link rel="canonical" href="{href}"><a href="/b">b</a>')
        assert indexing.is_canonical, href
        assert indexing.follow == ["https://site.example/b"]


def test_a_page_naming_another_page_is_a_duplicate_that_leads_to_it() -> None:
    html = '<head><link rel="canonical" href="/docs/main.html"></head><a href="/b" rel=nofollow>'
    indexing = _indexing(html)
    assert (indexing.is_canonical, indexing.canonical_url) == (
        False,
        "https://site.example/docs/main.html",
    )
    assert indexing.follow == ["https://site.example/docs/main.html"]
    # Redirected here: the final URL is the page itself too.
    redirected = _indexing(html, final_url="https://site.example/docs/main.html")
    assert redirected.is_canonical


def test_an_out_of_scope_canonical_is_recorded_and_not_followed() -> None:
    indexing = _indexing('<link rel="canonical" href="https://other.example/a">')
    assert (indexing.is_canonical, indexing.follow) == (False, [])
    assert indexing.canonical_url == "https://other.example/a"


def test_meta_and_header_directives_set_the_page_flags() -> None:
    indexing = _indexing('<meta name="robots" content="noindex"><a href="/b">b</a>')
    assert (indexing.noindex, indexing.nofollow, indexing.follow) == (
        True,
        False,
        ["https://site.example/b"],
    )
    indexing = _indexing('<a href="/b">b</a>', header="nofollow")
    assert (indexing.noindex, indexing.nofollow, indexing.follow) == (False, True, [])
