"""Crawls of hostile sites with real workers: every job ends, every URL gets its outcome.

The worker's task time limit is 9 s in tests (soft 8); the scraper caps each fetch to fit
inside the task, so a page that never finishes is a `timeout` failure, not a killed task.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest

from isidorus.scrapings.models import Link, Page
from tests.e2e.crawling import outcomes, start_crawl, wait_terminal
from tests.support import raw_servers
from tests.support.raw_servers import RawSite
from tests.support.site import html

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Each job must finish well inside this, or the test fails instead of waiting on.
JOB_TIMEOUT = 30
ONE_ATTEMPT = {"CRAWL_MAX_FETCH_ATTEMPTS": "1"}
LONG_HREF = "/long/" + "x" * 9000


def links_page(title: str, hrefs: list[str], extra: str = "") -> raw_servers.Handler:
    anchors = "".join(f'<a href="{href}">{index}</a> ' for index, href in enumerate(hrefs))
    return raw_servers.page(html(title, f"<p>{title} page</p>{anchors}{extra}"))


def no_time_limit_hit(worker: Any) -> bool:
    return "TimeLimitExceeded" not in worker.log_path.read_text(errors="replace")


HOSTILE_OUTCOMES = {
    "/": ("fetched", ""),
    "/drip": ("failed", "timeout"),
    "/drip-headers": ("failed", "timeout"),
    "/silent": ("failed", "timeout"),
    "/closes": ("failed", "connection"),
    "/endless-chunked": ("skipped", "too_large"),
    "/endless-close": ("skipped", "too_large"),
    "/huge-length": ("skipped", "too_large"),
    "/bomb-gzip": ("skipped", "too_large"),
    "/bomb-deflate": ("skipped", "too_large"),
    "/long-redirect": ("failed", "invalid_redirect"),
    "/bad-bytes": ("fetched", ""),
    "/long-hrefs": ("fetched", ""),
}


@pytest.fixture
def hostile_site() -> Iterator[RawSite]:
    routes: dict[str, raw_servers.Handler] = {
        "/": links_page("Home", [path for path in HOSTILE_OUTCOMES if path != "/"]),
        "/drip": raw_servers.drip_body(),
        "/drip-headers": raw_servers.drip_headers(),
        "/silent": raw_servers.silent,
        "/closes": raw_servers.close_without_response,
        "/endless-chunked": raw_servers.endless_body(chunked=True),
        "/endless-close": raw_servers.endless_body(chunked=False),
        "/huge-length": raw_servers.declared_length(10**12),
        "/bomb-gzip": raw_servers.compressed_page("gzip", raw_servers.bomb("gzip")),
        "/bomb-deflate": raw_servers.compressed_page("deflate", raw_servers.bomb("deflate")),
        "/long-redirect": raw_servers.redirect_to(LONG_HREF),
        "/bad-bytes": raw_servers.page(
            b"<title>bad\x00\xff bytes</title><body>te\x00xt \xc3\x28<a href='/a'>a</a></body>",
            "text/html; charset=utf-8",
        ),
        "/long-hrefs": links_page("Long", [LONG_HREF, "/?q=" + "y" * 20_000, "/a"]),
    }
    with RawSite(routes, max_seconds=60) as site:
        yield site


def test_every_hostile_page_gets_its_outcome_and_the_job_ends(
    hostile_site: RawSite, start_worker: Any, redis_clean: Any
) -> None:
    worker = start_worker(stages=["scraper", "writer"], name="hostile", env=ONE_ATTEMPT)
    job_id = start_crawl(hostile_site.url("/"), depth=1)
    item = wait_terminal(job_id, timeout=JOB_TIMEOUT)
    assert item["status"] == "COMPLETED_WITH_ERRORS"
    assert outcomes(job_id, hostile_site.origin) == HOSTILE_OUTCOMES
    # Cut inside the task, not by killing it (which would dead-letter the whole batch).
    assert no_time_limit_hit(worker)
    assert LONG_HREF not in hostile_site.requested_paths()

    bad = Page.objects.get(scraping_id=job_id, url=hostile_site.url("/bad-bytes"))
    assert (bad.title, bad.text) == ("bad\ufffd\ufffd bytes", "text \ufffd(a")
    # Links over the URL length limit are dropped at parsing: neither stored nor fetched.
    long_links = Link.objects.filter(scraping_id=job_id, page__url=hostile_site.url("/long-hrefs"))
    assert list(long_links.values_list("target_url", flat=True)) == [hostile_site.url("/a")]


def test_a_slow_page_is_retried_then_recorded_as_a_timeout(
    start_worker: Any, redis_clean: Any
) -> None:
    routes = {"/": links_page("Home", ["/drip"]), "/drip": raw_servers.drip_body()}
    with RawSite(routes, max_seconds=60) as site:
        start_worker(
            stages=["scraper", "writer"], name="retrying",
            env={"CRAWL_MAX_FETCH_ATTEMPTS": "3", "CRAWL_TOTAL_TIMEOUT": "2"},
        )  # fmt: skip
        job_id = start_crawl(site.url("/"), depth=1)
        item = wait_terminal(job_id, timeout=JOB_TIMEOUT)
        requested = site.requested_paths()
        origin = site.origin
    assert item["status"] == "COMPLETED_WITH_ERRORS"
    assert outcomes(job_id, origin) == {"/": ("fetched", ""), "/drip": ("failed", "timeout")}
    assert requested.count("/drip") == 3


def test_ten_thousand_links_are_stored_and_refused_past_max_pages(
    start_worker: Any, redis_clean: Any
) -> None:
    targets = [f"/p/{n}" for n in range(10_000)]
    routes = {"/": links_page("Many", targets)}
    with RawSite(routes, fallback=lambda path: links_page(path, []), max_seconds=60) as site:
        start_worker(stages=["scraper", "writer"], name="many-links", env=ONE_ATTEMPT)
        job_id = start_crawl(site.url("/"), depth=1, max_pages=5)
        item = wait_terminal(job_id, timeout=JOB_TIMEOUT)
        fetched_paths = site.page_paths()
        origin = site.origin
    assert item["status"] == "COMPLETED"
    found = outcomes(job_id, origin)
    assert len(found) == 1 + len(targets)
    by_outcome: dict[tuple[str, str], int] = {}
    for outcome in found.values():
        by_outcome[outcome] = by_outcome.get(outcome, 0) + 1
    assert by_outcome == {("fetched", ""): 5, ("skipped", "limit_reached"): 9996}
    assert len(fetched_paths) == 5
    home_links = Link.objects.filter(scraping_id=job_id, page__url=f"{origin}/")
    assert set(home_links.values_list("target_url", flat=True)) == {
        origin + path for path in targets
    }


# A calendar whose every day links to the next day, week and month, and a directory whose
# every page links to a subdirectory of itself: both endless.
def trap_links(path: str) -> list[str]:
    if path == "/":
        return ["/cal?d=1", "/trap/a/"]
    if path.startswith("/cal?d="):
        day = int(path.removeprefix("/cal?d="))
        return [f"/cal?d={day + step}" for step in (1, 7, 30)]
    return [path + "a/"]


@pytest.fixture
def trap_site() -> Iterator[RawSite]:
    def route(path: str) -> raw_servers.Handler:
        relative = ["a/" if href.startswith("/trap/") else href for href in trap_links(path)]
        return links_page(path, relative if path.startswith("/trap/") else trap_links(path))

    with RawSite({}, fallback=route, max_seconds=60) as site:
        yield site


def within_depth(depth: int) -> dict[str, int]:
    """Every path the trap reaches in at most `depth` hops, with its shortest hop count."""
    seen = {"/": 0}
    queue = deque(["/"])
    while queue:
        path = queue.popleft()
        if seen[path] == depth:
            continue
        for target in trap_links(path):
            if target not in seen:
                seen[target] = seen[path] + 1
                queue.append(target)
    return seen


def test_a_spider_trap_is_bounded_by_depth(
    trap_site: RawSite, start_worker: Any, redis_clean: Any
) -> None:
    start_worker(stages=["scraper", "writer"], name="trap-depth", env=ONE_ATTEMPT)
    job_id = start_crawl(trap_site.url("/"), depth=3, max_pages=1000)
    assert wait_terminal(job_id, timeout=JOB_TIMEOUT)["status"] == "COMPLETED"
    expected = within_depth(3)
    assert {path: ("fetched", "") for path in expected} == outcomes(job_id, trap_site.origin)
    depths = dict(Page.objects.filter(scraping_id=job_id).values_list("url", "depth"))
    assert depths == {trap_site.url(path): hops for path, hops in expected.items()}
    assert sorted(trap_site.page_paths()) == sorted(expected)


def test_a_spider_trap_is_bounded_by_max_pages(
    trap_site: RawSite, start_worker: Any, redis_clean: Any
) -> None:
    start_worker(stages=["scraper", "writer"], name="trap-pages", env=ONE_ATTEMPT)
    job_id = start_crawl(trap_site.url("/"), depth=5, max_pages=10)
    assert wait_terminal(job_id, timeout=JOB_TIMEOUT)["status"] == "COMPLETED"
    found = outcomes(job_id, trap_site.origin)
    fetched = [path for path, (outcome, _) in found.items() if outcome == "fetched"]
    assert len(fetched) == 10
    assert set(found.values()) == {("fetched", ""), ("skipped", "limit_reached")}
    assert len(trap_site.page_paths()) == 10
