"""SIGKILL an enrichment worker (image extractor, page summarizer) in the middle of a task,
then start a new one: the job completes, and every image and summary is recorded exactly
once, with exact counters, as an undisturbed crawl of the site records them.

The kill is certain to land mid-task: the dying worker's image download (or LLM call) is
held at a gate in the fake server when the SIGKILL is sent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from config.queues import IMAGE_EXTRACTOR, PAGE_SUMMARIZER, SCRAPER, WRITER
from isidorus.scrapings.models import Image, Page
from tests.e2e.crawling import (
    assert_images_stored_once,
    kill_while_held,
    outcomes,
    start_crawl,
    wait_terminal,
)
from tests.enrichment.helpers import image_bytes
from tests.support.gate import Gate
from tests.support.generated_site import generated_routes, reachable_within
from tests.support.llm_servers import FakeLLMServer, Reply
from tests.support.site import FixtureSite, Route
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PAGES, DEPTH, IMAGES_PER_PAGE = 40, 8, 2
TOKENS_IN, TOKENS_OUT = 120, 30


@dataclass
class EnrichedSite:
    site: FixtureSite
    gate: Gate  # holds image downloads
    pages: set[str]  # paths of the pages a crawl reaches
    images: dict[str, bytes]  # image path -> the bytes served
    image_pages: Counter[tuple[str, str]]  # (page path, image path) -> image rows expected
    links: int


def _enriched_routes(gate: Gate) -> tuple[dict[str, Route], dict[str, bytes]]:
    """The generated site, each page with its own images, served slowly through `gate`."""
    routes = generated_routes(PAGES, links_per_page=4, delay=0.05)
    images: dict[str, bytes] = {}
    for path, route in list(routes.items()):
        if not path.endswith((".html", "/")):
            continue
        name = path.strip("/").replace("/", "-") or "home"
        tags = ""
        for index in range(IMAGES_PER_PAGE):
            image_path = f"/img/{name}-{index}.png"
            images[image_path] = image_bytes("PNG", colour=(len(images) * 5 % 256, 90, 160))
            image = Route(body=images[image_path], content_type="image/png", delay=0.2)
            routes[image_path] = Route(dynamic=gate.guard(lambda _, served=image: served))
            tags += f'<img src="{image_path}" alt="figure {index} of {name}">'
        assert isinstance(route.body, str)
        route.body = route.body.replace("</body>", f"{tags}</body>")
    return routes, images


@pytest.fixture
def enriched_site() -> Iterator[EnrichedSite]:
    gate = Gate()
    routes, images = _enriched_routes(gate)
    pages = reachable_within(routes, DEPTH)
    # Every link leads to a page of the crawl, so each link is a page or a duplicate.
    assert reachable_within(routes, DEPTH - 1) == pages
    image_pages: Counter[tuple[str, str]] = Counter()
    links = 0
    for path in pages:
        body = str(routes[path].body)
        image_pages.update((path, src) for src in re.findall(r'<img src="([^"]+)"', body))
        links += len(re.findall(r"<a href=", body))
    with FixtureSite(routes) as site:
        yield EnrichedSite(site, gate, pages, images, image_pages, links)
    gate.open()


def _image_rows(job_id: str) -> int:
    return Image.objects.filter(scraping_id=job_id).exclude(outcome="").count()


def _summaries(job_id: str) -> int:
    return Page.objects.filter(scraping_id=job_id).exclude(summary="").count()


def _image_downloads(site: FixtureSite) -> int:
    return sum(path.startswith("/img/") for path in site.requested_paths())


def _assert_enriched_exactly(job_id: str, item: dict[str, Any], site: EnrichedSite) -> None:
    origin = site.site.origin
    assert item["status"] == "COMPLETED"
    assert outcomes(job_id, origin) == dict.fromkeys(site.pages, ("fetched", ""))
    pages = Page.objects.filter(scraping_id=job_id)
    assert all(page.summary and not page.summary_error for page in pages)

    # no image lost, none recorded twice
    assert_images_stored_once(job_id, origin, site.image_pages, site.images)

    images = sum(site.image_pages.values())
    counters = {
        name: value
        for name, value in item.items()
        if name.startswith(("pages_", "skipped_", "failed_", "links", "images", "summar"))
        or name.startswith(("image_", "enrichment_"))
    }
    expected = {
        "pages_fetched": len(site.pages),
        "links": site.links,
        "skipped_duplicate": site.links - (len(site.pages) - 1),
        "images": images,
        "images_stored": images,
        "summaries": len(site.pages),
        "summary_tokens_in": sum(page.summary_input_tokens for page in pages),
        "summary_tokens_out": sum(page.summary_output_tokens for page in pages),
    }
    assert counters == {name: value for name, value in expected.items() if value}


def test_an_image_worker_killed_mid_task_loses_and_duplicates_nothing(
    enriched_site: EnrichedSite, start_worker: Any, enrichment_on: dict[str, str]
) -> None:
    site = enriched_site
    start_worker(stages=[SCRAPER, WRITER, PAGE_SUMMARIZER], name="pipeline", env=enrichment_on)
    doomed = start_worker(stages=[IMAGE_EXTRACTOR], name="doomed-images", env=enrichment_on)
    job_id = start_crawl(site.site.url("/"), depth=DEPTH)
    wait_for(
        lambda: _image_rows(job_id) >= 8, timeout=90, message="some images stored before the kill"
    )
    kill_while_held(doomed, site.gate)
    # The held download's row was not written: the new worker has work left to redo.
    assert _image_rows(job_id) < sum(site.image_pages.values())
    start_worker(stages=[IMAGE_EXTRACTOR], name="survivor-images", env=enrichment_on)
    item = wait_terminal(job_id, timeout=180)

    _assert_enriched_exactly(job_id, item, site)
    assert {row.description_model for row in Image.objects.filter(scraping_id=job_id)} == {
        "offline"
    }
    # The download cut off by the kill was done again; every other image once.
    assert _image_downloads(site.site) > len(site.images)


def test_a_summarizer_killed_mid_task_loses_and_duplicates_nothing(
    enriched_site: EnrichedSite, start_worker: Any, enrichment_on: dict[str, str]
) -> None:
    site = enriched_site
    llm_gate = Gate()
    reply = Reply(text="A summary.", input_tokens=TOKENS_IN, output_tokens=TOKENS_OUT, delay=0.2)
    with FakeLLMServer("openai", default=llm_gate.guard(lambda _: reply)) as llm:
        env = {**enrichment_on, "SUMMARY_PROVIDER": "openai", "OPENAI_API_KEY": "test-key",
               "OPENAI_BASE_URL": llm.base_url}  # fmt: skip
        start_worker(stages=[SCRAPER, WRITER, IMAGE_EXTRACTOR], name="pipeline", env=env)
        doomed = start_worker(stages=[PAGE_SUMMARIZER], name="doomed-summarizer", env=env)
        job_id = start_crawl(site.site.url("/"), depth=DEPTH)
        wait_for(
            lambda: _summaries(job_id) >= 4, timeout=90, message="some summaries before the kill"
        )
        kill_while_held(doomed, llm_gate)
        # The held call's page has no summary: the new worker has work left to redo.
        assert _summaries(job_id) < len(site.pages)
        start_worker(stages=[PAGE_SUMMARIZER], name="survivor-summarizer", env=env)
        item = wait_terminal(job_id, timeout=180)
        calls = len(llm.recorded())

    _assert_enriched_exactly(job_id, item, site)
    pages = Page.objects.filter(scraping_id=job_id)
    assert {page.summary for page in pages} == {"A summary."}
    # Tokens of the calls cut off by the kill were never recorded: each page counts once.
    assert item["summary_tokens_in"] == TOKENS_IN * len(site.pages)
    assert item["summary_tokens_out"] == TOKENS_OUT * len(site.pages)
    assert calls > len(site.pages)  # the call cut off by the kill was made again
