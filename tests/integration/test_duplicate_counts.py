"""A page's duplicate links count once, however often it is scraped.

Found by the enrichment crash loop (issue 19): with workers killed mid-crawl, the job's
`skipped_duplicate` counter came out 176 to 2,434 too high in 3 runs of 7, every other
counter exact. A scrape redelivered after a crash sees the links its first attempt
admitted, once their pages are written, as duplicates; and its batch, grouped differently,
counted its duplicates although the first batch had already written those pages.
Real Redis, PostgreSQL, S3 (LocalStack) and DynamoDB (moto).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from config.queues import SCRAPER, WRITER
from isidorus import job_state
from isidorus.contracts import PageEntry
from isidorus.crawling.urls import url_fingerprint
from isidorus.scrapings.jobs import job_config
from isidorus.scrapings.models import Page, Scraping
from isidorus.scrapings.services.discover import LinkSource, discover
from isidorus.scrapings.services.expand import ExpandReport, expand_pages
from isidorus.scrapings.staging import stage_get
from tests.enrichment.helpers import add_page, counters, new_job
from tests.support.batches import Crawl, take
from tests.support.site import FixtureSite

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "http://127.0.0.1:9"


def _page(job_id: str, path: str) -> tuple[str, PageEntry]:
    """An open page item at depth 0, as the scraper claims it."""
    url = f"{ORIGIN}{path}"
    item = job_state.page_item(url_fingerprint(url))
    entry = PageEntry(url, depth=0)
    job_state.open_new(job_id, {item: entry.to_wire()})
    return item, entry


def _links(*paths: str) -> list[str]:
    return [f"{ORIGIN}{path}" for path in paths]


def test_a_page_scraped_again_reports_the_duplicates_of_its_first_scrape(
    redis_clean: Any, aws_resources: Any
) -> None:
    job_id = new_job(summarize=False, describe_images=False)
    Scraping.objects.filter(pk=job_id).update(depth=3, respect_robots=False)
    job = job_config(job_id)
    assert job is not None
    parent, parent_entry = _page(job_id, "/parent.html")
    other, other_entry = _page(job_id, "/other.html")
    discover(job, [LinkSource(other, other_entry, _links("/z.html"))])

    first = discover(
        job, [LinkSource(parent, parent_entry, _links("/x.html", "/y.html", "/z.html"))]
    )
    assert first.duplicates_of == {parent: 1}  # z, admitted by the other page
    # x's page is written and its item closed; the parent's scrape is then redelivered,
    # grouped after a page that offers y first.
    job_state.close(
        job_id=job_id, items=[job_state.page_item(url_fingerprint(_links("/x.html")[0]))]
    )
    third, third_entry = _page(job_id, "/third.html")
    again = discover(
        job,
        [
            LinkSource(third, third_entry, _links("/y.html")),
            LinkSource(parent, parent_entry, _links("/x.html", "/y.html", "/z.html")),
        ],
    )
    assert again.duplicates_of[parent] == 1  # not 3: x and y were its own admissions
    assert again.duplicates_of[third] == 1

    job_state.close(job_id=job_id, items=[parent, other, third])
    assert not redis_clean.hgetall(f"job:{{{job_id}}}:dups")  # pins last while items are open


def test_a_second_batch_of_written_pages_adds_none_of_their_duplicates(
    enriched: Any, images_site: FixtureSite
) -> None:
    crawl = Crawl(images_site)
    for record in crawl.records.values():
        record["dup"] = 5
    crawl.write(crawl.urls[:3])
    assert counters(crawl.job_id)["skipped_duplicate"] == 15
    crawl.write(crawl.urls)  # a redelivered scrape, grouped with one page more
    assert counters(crawl.job_id)["skipped_duplicate"] == 20


def _expand_duplicates(page_depth: int) -> int:
    """Expand a written page (links to a known URL and a new one) from `page_depth` to
    depth 1, in a job of depth 3; returns the duplicates its staged batch counts."""
    job_id = new_job(summarize=False, describe_images=False)
    Scraping.objects.filter(pk=job_id).update(depth=3, respect_robots=False)
    job = job_config(job_id)
    assert job is not None
    known, new = _links("/known.html", "/new.html")
    start, start_entry = _page(job_id, "/")
    discover(job, [LinkSource(start, start_entry, [known])])  # known: depth 1
    url = f"{ORIGIN}/deep.html"
    page = Page.objects.get(pk=add_page(job_id, url=url, depth=page_depth))
    Page.objects.filter(pk=page.pk).update(links=[[known, True, False], [new, True, False]])
    item = job_state.expand_item(url_fingerprint(url), 1)
    entry = PageEntry(url, depth=1, parent_url=ORIGIN + "/")
    job_state.open_new(job_id, {item: entry.to_wire()})

    assert expand_pages(job_id=job_id, entries=[entry], token="t") == ExpandReport(expanded=1)
    assert Page.objects.get(pk=page.pk).depth == 1
    ((_, body),) = [message for message in take(WRITER) if message[1]["job"] == job_id]
    return int(stage_get(body["key"])["duplicates_of"][item])


def test_an_expand_counts_duplicates_only_for_links_never_offered_before(
    redis_clean: Any, aws_resources: Any
) -> None:
    take(WRITER)
    # Written at depth 2 of 3, its links were offered (and counted) then.
    assert _expand_duplicates(page_depth=2) == 0
    # Written at the depth limit, its links are offered for the first time.
    assert _expand_duplicates(page_depth=3) == 1
    take(SCRAPER)


def test_a_link_that_shortens_a_known_urls_depth_is_a_duplicate(
    redis_clean: Any, aws_resources: Any
) -> None:
    job_id = new_job(summarize=False, describe_images=False)
    Scraping.objects.filter(pk=job_id).update(depth=3, respect_robots=False)
    job = job_config(job_id)
    assert job is not None
    deep, deep_entry = _page(job_id, "/deep.html")
    discover(job, [LinkSource(deep, replace(deep_entry, depth=1), _links("/x.html"))])  # x: depth 2
    start, start_entry = _page(job_id, "/")
    found = discover(job, [LinkSource(start, start_entry, _links("/x.html"))])  # x: depth 1
    assert found.to_expand  # the shorter path re-follows x's links
    # Still one admission for x: its other link counts as a duplicate, or the counter would
    # fall short of (links within the depth limit) - (pages they brought in).
    assert found.duplicates_of == {start: 1}
