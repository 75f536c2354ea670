"""End-to-end enrichment: a crawl of a site with real PNG and JPEG images, with workers on
all four queues, ends with every image in S3 (LocalStack) and every page summarised."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from isidorus.integrations.aws import s3_client
from isidorus.scrapings.models import Image, Page
from tests.e2e.crawling import start_crawl, wait_terminal
from tests.enrichment.helpers import image_bytes, truncated
from tests.support.llm_servers import FakeLLMServer, Reply, down_base_url
from tests.support.site import FixtureSite, Route, html

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LIGHTHOUSE_PNG = image_bytes("PNG", colour=(200, 30, 30), size=(120, 80))
SEA_JPEG = image_bytes("JPEG", colour=(20, 60, 200), size=(90, 90))
PAGE_WORDS = {"/": "lighthouse", "/keepers.html": "keepers", "/fog.html": "fog"}


def _site_routes() -> dict[str, Route]:
    return {
        "/": Route(body=html("Bell Rock lighthouse", """
            <p>The Bell Rock lighthouse stands on a reef in the North Sea.
            Robert Stevenson built the lighthouse between 1807 and 1810.
            It is the oldest surviving sea-washed lighthouse in the world.
            The gift shop sells postcards.</p>
            <img src="/img/lighthouse.png" alt="The Bell Rock lighthouse at dusk">
            <figure><img src="/img/sea.jpg"><figcaption>The sea</figcaption></figure>
            <a href="/keepers.html">keepers</a> <a href="/fog.html">fog</a>""")),
        "/keepers.html": Route(body=html("The keepers", """
            <p>Keepers lived in the tower for weeks at a time. The keepers tended the lamp
            every night. Relief boats brought the keepers home when the sea allowed.</p>
            <img src="/img/sea.jpg" alt="Waves"> <img src="/img/broken.png" alt="Broken">""")),
        "/fog.html": Route(body=html("Fog signals", """
            <p>In fog the keepers rang a bell. Later a fog horn replaced the fog bell.
            Fog was the greatest danger on the reef.</p>
            <img src="/img/missing.png" alt="Missing">""")),
        "/img/lighthouse.png": Route(body=LIGHTHOUSE_PNG, content_type="image/png"),
        "/img/sea.jpg": Route(body=SEA_JPEG, content_type="image/jpeg"),
        "/img/broken.png": Route(body=truncated(image_bytes("PNG", size=(300, 300))),
                                 content_type="image/png"),
        "/img/missing.png": Route(status=404, body=b"no"),
    }  # fmt: skip


@pytest.fixture
def site() -> Iterator[FixtureSite]:
    with FixtureSite(_site_routes()) as served:
        yield served


def _s3_object(key: str) -> tuple[bytes, str]:
    response = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=key)
    return response["Body"].read(), response["ContentType"]


def _assert_images_stored(job_id: str, site: FixtureSite) -> None:
    served = {"/img/lighthouse.png": (LIGHTHOUSE_PNG, "image/png"),
              "/img/sea.jpg": (SEA_JPEG, "image/jpeg")}  # fmt: skip
    rows = Image.objects.filter(scraping_id=job_id)
    outcomes = sorted((row.url.removeprefix(site.origin), row.outcome, row.reason) for row in rows)
    assert [(path, outcome) for path, outcome, _ in outcomes] == [
        ("/img/broken.png", "failed"),
        ("/img/lighthouse.png", "stored"),
        ("/img/missing.png", "failed"),
        ("/img/sea.jpg", "stored"),
        ("/img/sea.jpg", "stored"),
    ]
    assert {path: reason for path, outcome, reason in outcomes if outcome == "failed"} == {
        "/img/broken.png": "truncated",
        "/img/missing.png": "http_4xx",
    }
    for row in rows.filter(outcome="stored"):
        data, mime = served[row.url.removeprefix(site.origin)]
        assert row.s3_key == f"images/{hashlib.sha256(data).hexdigest()}.{row.s3_key[-3:]}"
        assert _s3_object(row.s3_key) == (data, mime)
        assert row.description
    # One image on two pages is downloaded once per job.
    assert site.requested_paths().count("/img/sea.jpg") == 1


def _assert_pages_summarised(job_id: str, site: FixtureSite) -> None:
    pages = Page.objects.filter(scraping_id=job_id, outcome="fetched")
    assert sorted(page.url.removeprefix(site.origin) for page in pages) == sorted(PAGE_WORDS)
    for page in pages:
        assert page.summary, page.url


def test_a_crawl_with_offline_enrichment_stores_every_image_and_summarises_every_page(
    site: FixtureSite, start_worker: Any, enrichment_on: dict[str, str]
) -> None:
    start_worker(name="enricher", concurrency=3, env=enrichment_on)  # all four queues
    job_id = start_crawl(site.url("/"), depth=1)
    item = wait_terminal(job_id)
    assert item["status"] == "COMPLETED_WITH_ERRORS"  # the site has broken images
    _assert_images_stored(job_id, site)
    _assert_pages_summarised(job_id, site)
    for page in Page.objects.filter(scraping_id=job_id):
        path = page.url.removeprefix(site.origin)
        assert PAGE_WORDS[path] in page.summary.lower()
        assert page.summary_model == "offline/extractive"
    home = Page.objects.get(scraping_id=job_id, url=site.url("/"))
    assert "gift shop" not in home.summary
    lighthouse = Image.objects.get(scraping_id=job_id, url=site.url("/img/lighthouse.png"))
    assert lighthouse.description.startswith("The Bell Rock lighthouse at dusk.")
    assert "120x80 pixels" in lighthouse.description
    assert (item["summaries"], item["images_stored"], item["images_failed"]) == (3, 3, 2)


def test_a_crawl_with_llm_providers_retries_a_429_and_totals_the_tokens(
    site: FixtureSite, start_worker: Any, enrichment_on: dict[str, str]
) -> None:
    with FakeLLMServer("openai", default=Reply(text="Fake words.", input_tokens=50,
                                               output_tokens=5)) as server:  # fmt: skip
        server.script(Reply(status=429, headers={"Retry-After": "1"}))
        start_worker(
            name="llm-enricher", concurrency=3,
            env={**enrichment_on, "SUMMARY_PROVIDER": "openai",
                 "IMAGE_DESCRIBER_PROVIDER": "openai", "OPENAI_API_KEY": "test-key",
                 "OPENAI_BASE_URL": server.base_url},
        )  # fmt: skip
        job_id = start_crawl(site.url("/"), depth=1)
        item = wait_terminal(job_id)
        requests = server.recorded()
        # The 429 may have answered an image request: that image is sent again.
        sent_mimes = sorted(image.mime for image in server.sent_images(answered=True))
    assert item["status"] == "COMPLETED_WITH_ERRORS"  # the site has broken images
    _assert_images_stored(job_id, site)
    _assert_pages_summarised(job_id, site)
    # 3 summaries + 2 distinct images described once each, + the request that got a 429.
    assert len(requests) == 6
    assert sent_mimes == ["image/jpeg", "image/png"]
    pages = Page.objects.filter(scraping_id=job_id)
    assert {page.summary for page in pages} == {"Fake words."}
    images = Image.objects.filter(scraping_id=job_id, outcome="stored")
    assert {image.description for image in images} == {"Fake words."}
    assert item["summary_tokens_in"] == sum(p.summary_input_tokens for p in pages) == 150
    assert item["summary_tokens_out"] == 15
    assert item["image_tokens_in"] == sum(i.input_tokens for i in images) == 100
    assert item["image_tokens_out"] == 10


def test_providers_that_are_down_leave_reasons_and_the_job_completes(
    start_worker: Any, enrichment_on: dict[str, str]
) -> None:
    routes = {
        "/": Route(body=html("Alone", "<p>One page. It has one image.</p><img src='/a.png'>")),
        "/a.png": Route(body=image_bytes("PNG"), content_type="image/png"),
    }
    with FixtureSite(routes) as site:
        start_worker(
            name="down-enricher", concurrency=2,
            env={**enrichment_on, "ENRICHMENT_MAX_ATTEMPTS": "2",
                 "SUMMARY_PROVIDER": "openai", "OPENAI_API_KEY": "test-key",
                 "OPENAI_BASE_URL": down_base_url(),
                 "IMAGE_DESCRIBER_PROVIDER": "anthropic", "ANTHROPIC_API_KEY": "test-key",
                 "ANTHROPIC_BASE_URL": down_base_url().removesuffix("/v1")},
        )  # fmt: skip
        job_id = start_crawl(site.url("/"), depth=0)
        item = wait_terminal(job_id)
    assert item["status"] == "COMPLETED_WITH_ERRORS"  # enrichment failed
    page = Page.objects.get(scraping_id=job_id)
    assert (page.summary, page.summary_error) == ("", "connection")
    image = Image.objects.get(scraping_id=job_id)
    assert (image.outcome, image.reason) == ("stored", "describe_connection")
    assert _s3_object(image.s3_key)[1] == "image/png"
    assert item["summaries_failed_connection"] == item["image_descriptions_failed"] == 1
