"""A page's indexing rules: robots directives and which of its links are followed.

Directives come from `<meta name="robots">` and the `X-Robots-Tag` header. Only
`noindex` and `nofollow` change what the crawler does (`none` is both); others (`noarchive`,
`max-snippet`, ...) are read and ignored. A header part addressed to a named crawler
(`otherbot: noindex`) applies only when the name is ours, as robots.txt groups do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from isidorus.crawling.parse import Link
from isidorus.crawling.urls import canonicalize

NOINDEX = "noindex"
NOFOLLOW = "nofollow"
OUR_CRAWLER_NAMES = frozenset(("isidorus",))
_EXPANDS = {"none": (NOINDEX, NOFOLLOW)}
_KNOWN = frozenset((NOINDEX, NOFOLLOW))


@dataclass(frozen=True)
class PageIndexing:
    noindex: bool
    # The page says "nofollow" for all its links (meta or header).
    nofollow: bool
    canonical_url: str
    # False when canonical_url names another page: this one is a duplicate of it.
    is_canonical: bool
    # The URLs the crawl goes on to from this page (see followed_links).
    follow: list[str]


def page_indexing(
    *,
    robots_meta: Iterable[str],
    robots_header: str,
    links: Iterable[Link],
    canonical: str | None,
    page_urls: Iterable[str],
    follow_nofollow: bool,
    in_scope: Callable[[str], bool],
) -> PageIndexing:
    """What a fetched page's directives and canonical link mean for the crawl.

    `page_urls` are the page's own URLs (requested and final): a canonical naming one of
    them is the page itself. Another in-scope canonical URL is followed like a link.
    """
    directives = robots_directives(robots_meta, robots_header)
    own = {canonicalize(url, url) or url for url in page_urls}
    is_canonical = not canonical or canonical in own
    nofollow = NOFOLLOW in directives
    return PageIndexing(
        noindex=NOINDEX in directives,
        nofollow=nofollow,
        canonical_url=canonical or "",
        is_canonical=is_canonical,
        follow=followed_links(
            links,
            page_nofollow=nofollow,
            follow_nofollow=follow_nofollow,
            canonical=canonical if not is_canonical and in_scope(canonical or "") else None,
        ),
    )


def robots_directives(meta_contents: Iterable[str], header: str = "") -> frozenset[str]:
    """The `noindex` / `nofollow` directives of a page's robots meta tags and header."""
    found: set[str] = set()
    for content in meta_contents:
        found.update(_directives(content))
    for part in header.split(","):
        name, colon, value = part.partition(":")
        if colon:
            if name.strip().lower() in OUR_CRAWLER_NAMES:
                found.update(_directives(value))
        else:
            found.update(_directives(part))
    return frozenset(found)


def _directives(text: str) -> set[str]:
    found: set[str] = set()
    for token in text.replace(",", " ").lower().split():
        found.update(_EXPANDS.get(token, (token,)))
    return found & _KNOWN


def followed_links(
    links: Iterable[Link],
    *,
    page_nofollow: bool,
    follow_nofollow: bool,
    canonical: str | None = None,
) -> list[str]:
    """The URLs a page leads the crawl to, in order: its links that may be followed, then
    its canonical URL (when it names another page) unless a link already did."""
    followed: list[str] = []
    if follow_nofollow or not page_nofollow:
        followed = [link.url for link in links if follow_nofollow or not link.nofollow]
    if canonical and canonical not in followed:
        followed.append(canonical)
    return followed
