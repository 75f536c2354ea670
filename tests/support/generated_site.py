"""A generated site of N pages, each linking to a few others: for budget and crash tests."""

from __future__ import annotations

from tests.support.site import Route, html


def generated_routes(pages: int, links_per_page: int = 6, delay: float = 0.0) -> dict[str, Route]:
    routes: dict[str, Route] = {
        "/robots.txt": Route(body="User-agent: *\nAllow: /\n", content_type="text/plain")
    }
    for number in range(pages):
        targets = sorted({(number * 7 + step * 13 + 1) % pages for step in range(links_per_page)})
        links = " ".join(f'<a href="{page_path(target)}">page {target}</a>' for target in targets)
        routes[page_path(number)] = Route(
            body=html(f"Page {number}", f"<p>generated page number {number}</p>{links}"),
            delay=delay,
        )
    return routes


def page_path(number: int) -> str:
    return "/" if number == 0 else f"/p/{number}.html"


def reachable_within(routes: dict[str, Route], depth: int) -> set[str]:
    """Paths within `depth` link hops of "/" (breadth-first over the generated links)."""
    import re

    frontier, seen = {"/"}, {"/"}
    for _ in range(depth):
        following: set[str] = set()
        for path in frontier:
            body = routes[path].body
            text = body.decode() if isinstance(body, bytes) else body
            following |= set(re.findall(r'href="([^"]+)"', text)) - seen
        seen |= following
        frontier = following
    return seen
