"""End-to-end crawls of the fixture site with real workers on LocalStack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from isidorus.scrapings.models import JobTerm, Link, Page, Scraping
from tests.e2e.crawling import outcomes, start_crawl, wait_terminal
from tests.support.fixture_site import fixture_routes
from tests.support.site import FixtureSite, Route, html

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FETCHED_AT_DEPTH_1 = {
    "/": ("fetched", ""),
    "/a.html": ("fetched", ""),
    "/b.html": ("fetched", ""),
    "/rel/": ("fetched", ""),
    "/page?a=1&b=2": ("fetched", ""),
    "/redirect-start": ("fetched", ""),
    "/shortcut.html": ("fetched", ""),
    "/loop1": ("failed", "redirect_loop"),
    "/missing": ("failed", "http_4xx"),
    "/error": ("failed", "http_5xx"),
    "/doc.pdf": ("skipped", "unsupported_type"),
    "/private/secret.html": ("skipped", "robots_disallowed"),
}


@pytest.fixture
def external_site() -> Iterator[FixtureSite]:
    with FixtureSite({"/outside.html": Route(body=html("Outside", "<p>out</p>"))}) as site:
        yield site


@pytest.fixture
def site(external_site: FixtureSite) -> Iterator[FixtureSite]:
    with FixtureSite(fixture_routes(external_site.origin)) as served:
        yield served


@pytest.fixture
def workers(start_worker: Any, redis_clean: Any) -> Any:
    return start_worker(stages=["scraper", "writer"], name="crawler", concurrency=2)


def test_depth_0_fetches_only_the_start_page(site: FixtureSite, workers: Any) -> None:
    job_id = start_crawl(site.url("/"), depth=0)
    assert wait_terminal(job_id)["status"] == "COMPLETED"
    assert outcomes(job_id, site.origin) == {"/": ("fetched", "")}
    assert site.page_paths() == ["/"]


def test_depth_1_records_every_outcome(
    site: FixtureSite, external_site: FixtureSite, workers: Any
) -> None:
    job_id = start_crawl(site.url("/"), depth=1)
    item = wait_terminal(job_id)
    assert item["status"] == "COMPLETED_WITH_ERRORS"
    found = outcomes(job_id, site.origin)
    assert found == {
        **FETCHED_AT_DEPTH_1,
        f"{external_site.origin}/outside.html": ("skipped", "out_of_scope"),
    }
    assert external_site.requested_paths() == []
    assert "/private/secret.html" not in site.requested_paths()
    assert site.requested_paths().count("/robots.txt") == 1
    assert Scraping.objects.get(pk=job_id).status == "COMPLETED_WITH_ERRORS"
    redirected = Page.objects.get(scraping_id=job_id, url=site.url("/redirect-start"))
    assert redirected.final_url == site.url("/redirect-end")
    assert item["pages_fetched"] == 7
    assert item["pages_failed"] == 3
    assert item["pages_skipped"] == 3


def test_depth_2_follows_relative_and_base_links(site: FixtureSite, workers: Any) -> None:
    job_id = start_crawl(site.url("/"), depth=2)
    wait_terminal(job_id)
    found = outcomes(job_id, site.origin)
    fetched = {path for path, (outcome, _) in found.items() if outcome == "fetched"}
    assert fetched == {
        path for path, (outcome, _) in FETCHED_AT_DEPTH_1.items() if outcome == "fetched"
    } | {"/deep/level2.html", "/after-shortcut.html"}
    assert Page.objects.get(scraping_id=job_id, url=site.url("/shortcut.html")).depth == 1
    assert "/deep/level3.html" not in site.requested_paths()


def test_a_two_page_cycle_yields_exactly_two_pages(site: FixtureSite, workers: Any) -> None:
    job_id = start_crawl(site.url("/a.html"), depth=5)
    assert wait_terminal(job_id)["status"] == "COMPLETED"
    assert set(outcomes(job_id, site.origin)) == {"/a.html", "/b.html"}


def test_terms_and_links_of_a_known_page(site: FixtureSite, workers: Any) -> None:
    job_id = start_crawl(site.url("/"), depth=0)
    wait_terminal(job_id)
    home = Page.objects.get(scraping_id=job_id, url=site.url("/"))
    terms = home.terms
    assert terms["lighthouse"] == 2
    assert terms["keepers"] == 1
    assert "the" not in terms
    links = {link.target_url: link for link in Link.objects.filter(page=home)}
    assert links[site.url("/a.html")].internal is True
    assert not any(url.startswith("mailto:") for url in links)
    assert links[site.url("/page?a=1&b=2")].internal is True


def test_the_cli_json_summary_matches_the_database(site: FixtureSite, workers: Any) -> None:
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("crawl", site.url("/"), "--depth", "1", "--json", "--timeout", "120", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    job_id = summary["id"]
    pages = Page.objects.filter(scraping_id=job_id)
    assert summary["status"] == "COMPLETED_WITH_ERRORS"
    assert summary["pages"]["fetched"] == pages.filter(outcome="fetched").count() == 7
    assert summary["pages"]["failed_by_reason"] == {
        "http_4xx": 1,
        "http_5xx": 1,
        "redirect_loop": 1,
    }
    assert summary["pages"]["skipped_by_reason"] == {
        "out_of_scope": 1, "robots_disallowed": 1, "unsupported_type": 1,
    }  # fmt: skip
    assert summary["links"] == Link.objects.filter(scraping_id=job_id).count()
    top = {term["term"]: (term["count"], term["pages"]) for term in summary["top_terms"]}
    containing = [page.terms["page"] for page in pages if "page" in page.terms]
    assert top["page"] == (sum(containing), len(containing))
    # The job totals are exactly the sums of the pages' own counts, for every term.
    totals: dict[str, tuple[int, int]] = {}
    for page in pages:
        for term, count in page.terms.items():
            total, seen = totals.get(term, (0, 0))
            totals[term] = (total + count, seen + 1)
    stored = JobTerm.objects.filter(scraping_id=job_id).values_list("term", "total", "pages")
    assert {term: (total, seen) for term, total, seen in stored} == totals


def test_a_shorter_path_found_late_lowers_the_depth_and_follows_the_links(
    start_worker: Any, redis_clean: Any
) -> None:
    routes = {
        "/": Route(body=html("Start", '<a href="/slow.html">s</a> <a href="/fast1.html">f</a>')),
        "/slow.html": Route(body=html("Slow", '<a href="/target.html">t</a>'), delay=4.0),
        "/fast1.html": Route(body=html("Fast 1", '<a href="/fast2.html">f2</a>')),
        "/fast2.html": Route(body=html("Fast 2", '<a href="/target.html">t</a>')),
        "/target.html": Route(body=html("Target", '<a href="/child.html">c</a>')),
        "/child.html": Route(body=html("Child", "<p>only within depth 3 via the slow path</p>")),
    }
    with FixtureSite(routes) as site:
        # One URL per message, so the fast chain reaches the target first, by the long path.
        start_worker(
            stages=["scraper", "writer"], name="racing", concurrency=3,
            env={"CRAWL_BATCH_SIZE": "1", "CRAWL_BATCH_GROWTH": "1"},
        )  # fmt: skip
        job_id = start_crawl(site.url("/"), depth=3)
        assert wait_terminal(job_id)["status"] == "COMPLETED"
        found = outcomes(job_id, site.origin)
        requested_at = {path: when for path, when in reversed(site.requests)}
    assert set(found) == {
        "/",
        "/slow.html",
        "/fast1.html",
        "/fast2.html",
        "/target.html",
        "/child.html",
    }
    depths = dict(Page.objects.filter(scraping_id=job_id).values_list("url", "depth"))
    assert depths[site.url("/target.html")] == 2
    assert depths[site.url("/child.html")] == 3
    # The race really happened: the target was first fetched while the slow page was pending.
    assert requested_at["/target.html"] < requested_at["/slow.html"] + 4.0
