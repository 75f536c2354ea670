"""A generated site shaped like a documentation site, for the enrichment crash loop.

Every page carries the same navigation links (so many pages discover the same URLs and
scrapes overlap), a few links of its own, sometimes a link to a missing page, and images:
a logo shared by every tenth page and a figure of its own on two pages in five. The model
says what an exact crawl of it stores: page outcomes, links a page, image rows and the
job's counters.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from tests.enrichment.helpers import image_bytes
from tests.support.generated_site import page_path
from tests.support.site import Route, html

NAVIGATION = 8  # pages 0..7 are linked from every page
BROKEN = 16  # distinct missing pages, each linked from several pages
LOGO = "/img/logo.png"


@dataclass
class CrashSite:
    routes: dict[str, Route]
    images: dict[str, bytes]  # image path -> bytes served
    fetched: set[str]  # page paths an exact crawl fetches
    broken: set[str]  # paths an exact crawl records as failed (404)
    links_from: dict[str, int] = field(default_factory=dict)  # page path -> anchors on it
    image_pages: Counter[tuple[str, str]] = field(default_factory=Counter)
    depth: int = 0  # the deepest page, in link hops from "/"

    @property
    def links(self) -> int:
        return sum(self.links_from.values())

    @property
    def admitted(self) -> int:
        return len(self.fetched) + len(self.broken)


def _own_links(number: int, pages: int) -> list[int]:
    navigation = set(range(NAVIGATION))
    targets = {(number * 7 + step * 13 + 1) % pages for step in range(4)} - navigation
    return sorted(targets)


def crash_site(pages: int, *, page_delay: float = 0.0, image_delay: float = 0.0) -> CrashSite:
    routes: dict[str, Route] = {
        "/robots.txt": Route(body="User-agent: *\nAllow: /\n", content_type="text/plain")
    }
    images = {LOGO: image_bytes("PNG", colour=(20, 40, 60))}
    routes[LOGO] = Route(body=images[LOGO], content_type="image/png", delay=image_delay)
    navigation = "".join(
        f'<li><a href="{page_path(target)}">section {target}</a></li>'
        for target in range(NAVIGATION)
    )
    for number in range(pages):
        anchors = [f'<a href="{page_path(target)}">page {target}</a>'
                   for target in _own_links(number, pages)]  # fmt: skip
        if number % 9 == 4:
            anchors.append(f'<a href="/missing/{number % BROKEN}.html">an old page</a>')
        figures = ""
        if number % 10 == 0:
            figures += f'<img src="{LOGO}" alt="logo">'
        if number % 5 in (1, 3):
            path = f"/img/figure-{number}.png"
            images[path] = image_bytes("PNG", colour=(number % 256, 90, 160))
            routes[path] = Route(body=images[path], content_type="image/png", delay=image_delay)
            figures += f'<img src="{path}" alt="figure of page {number}">'
        words = " ".join(f"topic{(number * 31 + index) % 97}" for index in range(40))
        body = (
            f"<nav><ul>{navigation}</ul></nav><main><h1>Page {number}</h1>"
            f"<p>Reference page {number} explains {words}.</p>"
            f"<p>{' '.join(anchors)}</p>{figures}</main>"
        )
        routes[page_path(number)] = Route(body=html(f"Page {number}", body), delay=page_delay)
    return _model(routes, images)


def _model(routes: dict[str, Route], images: dict[str, bytes]) -> CrashSite:
    site = CrashSite(routes, images, fetched={"/"}, broken=set())
    frontier = ["/"]
    while frontier:
        following: list[str] = []
        for path in frontier:
            text = str(routes[path].body)
            targets = re.findall(r'<a href="([^"]+)"', text)
            site.links_from[path] = len(targets)
            site.image_pages.update((path, src) for src in re.findall(r'<img src="([^"]+)"', text))
            for target in targets:
                if target in site.fetched or target in site.broken:
                    continue
                if target in routes:
                    site.fetched.add(target)
                    following.append(target)
                else:
                    site.broken.add(target)
        if following:
            site.depth += 1
        frontier = following
    return site
