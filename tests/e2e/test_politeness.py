"""Politeness toward crawled hosts: concurrency per host, Crawl-delay, Retry-After."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.e2e.crawling import outcomes, start_crawl, wait_terminal
from tests.support.site import FixtureSite, Route, html

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _hub(
    pages: int, delay: float = 0.0, robots: str = "User-agent: *\nAllow: /\n"
) -> dict[str, Route]:
    links = " ".join(f'<a href="/leaf{n}.html">{n}</a>' for n in range(pages))
    routes = {
        "/robots.txt": Route(body=robots, content_type="text/plain"),
        "/": Route(body=html("Hub", links)),
    }
    for n in range(pages):
        routes[f"/leaf{n}.html"] = Route(body=html(f"Leaf {n}", "<p>leaf</p>"), delay=delay)
    return routes


def test_requests_to_one_host_never_exceed_the_host_limit(
    start_worker: Any, redis_clean: Any
) -> None:
    with FixtureSite(_hub(8, delay=0.5)) as site:
        start_worker(
            stages=["scraper", "writer"], name="polite", concurrency=2,
            env={"CRAWL_HOST_CONCURRENCY": "2"},
        )  # fmt: skip
        job_id = start_crawl(site.url("/"), depth=1)
        assert wait_terminal(job_id)["status"] == "COMPLETED"
        assert len(outcomes(job_id, site.origin)) == 9
        assert site.max_in_flight == 2


def test_robots_crawl_delay_spaces_the_requests(start_worker: Any, redis_clean: Any) -> None:
    robots = "User-agent: *\nCrawl-delay: 1\nAllow: /\n"
    with FixtureSite(_hub(3, robots=robots)) as site:
        start_worker(stages=["scraper", "writer"], name="delayed", concurrency=2)
        job_id = start_crawl(site.url("/"), depth=1)
        assert wait_terminal(job_id)["status"] == "COMPLETED"
        starts = sorted(when for path, when in site.requests if path != "/robots.txt")
    # The four pages and the /sitemap.xml looked for at the start, each spaced.
    assert len(starts) == 5
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert min(gaps) >= 0.95


def test_a_429_is_retried_after_its_retry_after(start_worker: Any, redis_clean: Any) -> None:
    answers = iter([Route(status=429, headers={"Retry-After": "2"}, body="slow down")])

    def busy_then_fine(path: str) -> Route:
        return next(answers, Route(body=html("Fine", "<p>now it works</p>")))

    routes = {
        "/robots.txt": Route(body="User-agent: *\nAllow: /\n", content_type="text/plain"),
        "/": Route(dynamic=busy_then_fine),
    }
    with FixtureSite(routes) as site:
        start_worker(stages=["scraper", "writer"], name="retrier", concurrency=1)
        job_id = start_crawl(site.url("/"), depth=0)
        assert wait_terminal(job_id)["status"] == "COMPLETED"
        times = [when for path, when in site.requests if path == "/"]
    assert outcomes(job_id, site.origin) == {"/": ("fetched", "")}
    assert len(times) == 2
    assert times[1] - times[0] >= 2.0
