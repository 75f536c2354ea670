"""Reading jobs back: the list, a job's live status, its pages and one page in full."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from isidorus.integrations.job_table import (
    job_item_add_counters_once,
    job_item_create,
    job_item_delete,
    job_item_finish,
    job_item_mark_running,
)
from isidorus.scrapings.models import Image, JobStatus, Page, Scraping
from isidorus.scrapings.serializers import PageSerializer
from tests.support.links import add_link

pytestmark = pytest.mark.django_db
SCRAPINGS_URL = "/api/v1/scrapings/"
T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def live_items(aws_resources: dict[str, str]) -> Iterator[list[str]]:
    """Job ids whose DynamoDB items are deleted after the test."""
    job_ids: list[str] = []
    yield job_ids
    for job_id in job_ids:
        job_item_delete(job_id)


def other_owners_job(make_user: Any, make_job: Callable[..., Scraping]) -> Scraping:
    return make_job(owner=make_user("mallory"))


# --- The list ------------------------------------------------------------------------------


def test_the_list_shows_only_the_callers_jobs_newest_first(
    api: APIClient, make_job: Callable[..., Scraping], make_user: Any
) -> None:
    older = make_job(created_at=T0)
    newer = make_job(created_at=T0 + timedelta(minutes=1))
    other_owners_job(make_user, make_job)
    response = api.get(SCRAPINGS_URL)
    assert response.status_code == 200
    body = response.json()
    assert [job["id"] for job in body["results"]] == [str(newer.pk), str(older.pk)]
    assert body["next"] is None
    assert body["results"][1]["created_at"] == "2030-01-02T03:04:05Z"
    assert body["results"][1]["status_url"] == f"http://testserver{SCRAPINGS_URL}{older.pk}/"


def test_the_list_filters_by_status(api: APIClient, make_job: Callable[..., Scraping]) -> None:
    running = make_job(status=JobStatus.RUNNING)
    make_job(status=JobStatus.COMPLETED)
    make_job(status=JobStatus.QUEUED)
    response = api.get(SCRAPINGS_URL, {"status": "RUNNING"})
    assert [job["id"] for job in response.json()["results"]] == [str(running.pk)]


def test_an_unknown_status_filter_is_400(api: APIClient) -> None:
    response = api.get(SCRAPINGS_URL, {"status": "SLEEPING"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["fields"]) == {"status"}


def test_the_list_pages_through_every_job_once_with_a_cursor(
    api: APIClient, make_job: Callable[..., Scraping]
) -> None:
    # Two jobs share a timestamp: the cursor must neither repeat nor lose either of them.
    stamps = [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]
    jobs = [make_job(created_at=stamp) for stamp in stamps]
    expected = [str(job.pk) for job in sorted(jobs, key=lambda j: (j.created_at, j.pk))][::-1]
    seen: list[str] = []
    url: str | None = f"{SCRAPINGS_URL}?page_size=1"
    while url is not None:
        body = api.get(url).json()
        assert len(body["results"]) <= 1
        seen += [job["id"] for job in body["results"]]
        url = body["next"]
    assert seen == expected


@pytest.mark.parametrize("page_size", ["0", "101", "ten", "-1", "1.5"])
def test_a_bad_page_size_is_400(api: APIClient, page_size: str) -> None:
    response = api.get(SCRAPINGS_URL, {"page_size": page_size})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"page_size"}


@pytest.mark.parametrize(
    "cursor",
    ["ü", base64.b64encode(b"p=not-a-date").decode(), base64.b64encode(b"o=-5").decode()],
)
def test_a_forged_cursor_is_400(api: APIClient, make_job: Any, cursor: str) -> None:
    make_job()
    response = api.get(SCRAPINGS_URL, {"cursor": cursor})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"cursor"}


def test_the_list_costs_two_queries_however_many_jobs(
    api: APIClient, make_job: Callable[..., Scraping], django_assert_num_queries: Any
) -> None:
    for _ in range(12):
        make_job()
    api.get(SCRAPINGS_URL)  # stamps the key's last use once
    with django_assert_num_queries(2):  # the key and its owner; one page of jobs
        response = api.get(SCRAPINGS_URL, {"page_size": 10})
    assert len(response.json()["results"]) == 10


# --- One job -------------------------------------------------------------------------------


def test_the_detail_reads_live_status_and_counters_from_dynamodb(
    api: APIClient, make_job: Callable[..., Scraping], live_items: list[str], settings: Any
) -> None:
    settings.JOB_DETAIL_CACHE_SECONDS = 0  # read again at once after the item changes
    job = make_job(depth=2, include=["/docs/"])
    job_id = str(job.pk)
    live_items.append(job_id)
    job_item_create(
        job_id=job_id,
        owner_id=job.owner_id,
        url=job.url,
        depth=2,
        created_at="2030-01-02T03:04:05Z",
    )
    job_item_mark_running(job_id)
    counts = {
        "pages_fetched": 8, "pages_failed": 1, "pages_skipped": 3,
        "failed_http_5xx": 1, "skipped_robots_disallowed": 2, "skipped_out_of_scope": 1,
        "skipped_duplicate": 5, "links": 40, "images": 6,
        "summaries": 7, "summary_tokens_in": 1200, "summary_tokens_out": 90,
        "images_stored": 5, "images_failed": 1, "image_tokens_in": 400, "image_tokens_out": 60,
    }  # fmt: skip
    assert job_item_add_counters_once(job_id, "batch-1", counts)

    body = api.get(f"{SCRAPINGS_URL}{job_id}/").json()

    # The row still says QUEUED: the status comes from the live item.
    assert Scraping.objects.get(pk=job.pk).status == JobStatus.QUEUED
    assert body["status"] == "RUNNING"
    assert body["counters"] == {
        "fetched": 8,
        "failed": 1,
        "skipped": 3,
        "skipped_by_reason": {"duplicate": 5, "out_of_scope": 1, "robots_disallowed": 2},
        "failed_by_reason": {"http_5xx": 1},
        "links": 40,
        "images": 6,
        "enrichment": {
            "summaries": 7, "summaries_failed": 0, "images_stored": 5, "images_failed": 1,
            "images_skipped": 0, "image_descriptions_failed": 0, "summary_tokens_in": 1200,
            "summary_tokens_out": 90, "image_tokens_in": 400, "image_tokens_out": 60,
            "enrichment_token_budget_exhausted": 0,
        },
    }  # fmt: skip
    assert (body["depth"], body["include"], body["url"]) == (2, ["/docs/"], job.url)
    assert body["started_at"].endswith("Z")
    assert body["finished_at"] is None
    assert body["duration_seconds"] >= 0

    job_item_finish(job_id, status="COMPLETED_WITH_ERRORS", reason="1 page(s) failed")
    body = api.get(f"{SCRAPINGS_URL}{job_id}/").json()
    assert (body["status"], body["status_reason"]) == ("COMPLETED_WITH_ERRORS", "1 page(s) failed")
    started = datetime.fromisoformat(body["started_at"])
    finished = datetime.fromisoformat(body["finished_at"])
    assert body["duration_seconds"] == pytest.approx((finished - started).total_seconds(), abs=1e-3)
    if body["duration_seconds"] > 0:
        assert body["pages_per_second"] == pytest.approx(8 / body["duration_seconds"], rel=1e-2)


def _running_job(make_job: Callable[..., Scraping], live_items: list[str]) -> Scraping:
    """A job whose live item says RUNNING (its row still says QUEUED)."""
    job = make_job()
    live_items.append(str(job.pk))
    job_item_create(
        job_id=str(job.pk), owner_id=job.owner_id, url=job.url, depth=1, created_at=T0.isoformat()
    )
    job_item_mark_running(str(job.pk))
    return job


def _fetched(api: APIClient, job_id: str) -> int:
    """The fetched counter the job's detail answers."""
    return int(api.get(f"{SCRAPINGS_URL}{job_id}/").json()["counters"]["fetched"])


def test_a_running_jobs_detail_is_read_once_a_second_unless_its_row_changes(
    api: APIClient, make_job: Callable[..., Scraping], live_items: list[str], settings: Any
) -> None:
    settings.JOB_DETAIL_CACHE_SECONDS = 60
    job = _running_job(make_job, live_items)
    job_id = str(job.pk)

    assert _fetched(api, job_id) == 0
    job_item_add_counters_once(job_id, "batch-1", {"pages_fetched": 3})
    assert _fetched(api, job_id) == 0  # within the window: the detail read before
    Scraping.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    assert _fetched(api, job_id) == 3  # the row changed: read again
    job_item_add_counters_once(job_id, "batch-2", {"pages_fetched": 2})
    settings.JOB_DETAIL_CACHE_SECONDS = 0.01
    settings.JOB_DETAIL_STALE_SECONDS = 0  # no answer from the last read past the window
    time.sleep(0.02)
    assert _fetched(api, job_id) == 5  # the window passed


def test_past_the_window_a_poll_gets_the_last_read_at_once_while_it_is_read_again(
    api: APIClient, make_job: Callable[..., Scraping], live_items: list[str], settings: Any
) -> None:
    settings.JOB_DETAIL_CACHE_SECONDS = 0.2
    settings.JOB_DETAIL_STALE_SECONDS = 60
    job = _running_job(make_job, live_items)
    job_id = str(job.pk)

    assert _fetched(api, job_id) == 0
    job_item_add_counters_once(job_id, "batch-1", {"pages_fetched": 3})
    time.sleep(0.25)
    assert _fetched(api, job_id) == 0  # the last read, answered while the stores are read again
    deadline = time.monotonic() + 10
    while _fetched(api, job_id) != 3:  # the background read lands
        assert time.monotonic() < deadline, "the detail was never read again"
        time.sleep(0.05)
    job_item_add_counters_once(job_id, "batch-2", {"pages_fetched": 2})
    settings.JOB_DETAIL_STALE_SECONDS = 0.2
    time.sleep(0.25)
    assert _fetched(api, job_id) == 5  # too old to answer from: the poll waited for the new read


def test_without_a_live_item_the_detail_falls_back_to_the_row(
    api: APIClient, make_job: Callable[..., Scraping], aws_resources: dict[str, str]
) -> None:
    job = make_job(
        status=JobStatus.FAILED,
        status_reason="the daily page quota is used up",
        created_at=T0,
        started_at=T0 + timedelta(seconds=10),
        finished_at=T0 + timedelta(seconds=30),
    )
    body = api.get(f"{SCRAPINGS_URL}{job.pk}/").json()
    assert (body["status"], body["status_reason"]) == (
        "FAILED",
        "the daily page quota is used up",
    )
    assert (body["created_at"], body["started_at"], body["finished_at"]) == (
        "2030-01-02T03:04:05Z",
        "2030-01-02T03:04:15Z",
        "2030-01-02T03:04:35Z",
    )
    assert (body["duration_seconds"], body["pages_per_second"]) == (20.0, 0.0)
    assert body["counters"]["fetched"] == 0
    assert body["counters"]["skipped_by_reason"] == {}


def test_a_job_that_never_started_has_no_duration(
    api: APIClient, make_job: Callable[..., Scraping], aws_resources: dict[str, str]
) -> None:
    body = api.get(f"{SCRAPINGS_URL}{make_job().pk}/").json()
    assert body["status"] == "QUEUED"
    assert (body["duration_seconds"], body["pages_per_second"]) == (None, None)


# --- Pages ---------------------------------------------------------------------------------


def test_pages_are_listed_in_write_order_and_filter_by_outcome_and_depth(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    start = make_page(
        job,
        "http://example.com/",
        depth=0,
        status_code=200,
        title="Home",
        content_source="main",
        summary="The home page.",
        summary_model="offline/extractive",
        summary_prompt_version="extractive-1",
    )
    failed = make_page(job, "http://example.com/a", depth=1, outcome="failed", reason="http_5xx")
    skipped = make_page(job, "http://example.com/b", depth=1, outcome="skipped", reason="filtered")
    pages_url = f"{SCRAPINGS_URL}{job.pk}/pages/"

    listed = api.get(pages_url).json()["results"]
    assert [page["id"] for page in listed] == [start.pk, failed.pk, skipped.pk]
    assert listed[0] == {
        "id": start.pk,
        "url": "http://example.com/",
        "final_url": "",
        "status_code": 200,
        "title": "Home",
        "depth": 0,
        "parent_url": "",
        "outcome": "fetched",
        "reason": "",
        "content_source": "main",
        "summary": "The home page.",
        "summary_model": "offline/extractive",
        "summary_prompt_version": "extractive-1",
        "summary_error": "",
        "noindex": False,
        "nofollow": False,
        "canonical_url": "",
        "is_canonical": True,
    }
    by_outcome = api.get(pages_url, {"outcome": "failed"}).json()["results"]
    assert [page["id"] for page in by_outcome] == [failed.pk]
    by_depth = api.get(pages_url, {"depth": 1}).json()["results"]
    assert [page["id"] for page in by_depth] == [failed.pk, skipped.pk]


@pytest.mark.parametrize("query", [{"outcome": "lost"}, {"depth": "-1"}, {"depth": "deep"}])
def test_a_bad_page_filter_is_400(
    api: APIClient, make_job: Callable[..., Scraping], query: dict[str, str]
) -> None:
    response = api.get(f"{SCRAPINGS_URL}{make_job().pk}/pages/", query)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(query)


def test_pages_paginate_with_a_cursor(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    pages = [make_page(job, f"http://example.com/{n}") for n in range(5)]
    first = api.get(f"{SCRAPINGS_URL}{job.pk}/pages/", {"page_size": 3}).json()
    second = api.get(first["next"]).json()
    assert [page["id"] for page in first["results"] + second["results"]] == [
        page.pk for page in pages
    ]
    assert second["next"] is None


def test_the_page_list_costs_three_queries_however_many_pages(
    api: APIClient,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    django_assert_num_queries: Any,
) -> None:
    job = make_job()
    for n in range(15):
        make_page(job, f"http://example.com/{n}", text="long text " * 1000)
    api.get(f"{SCRAPINGS_URL}{job.pk}/pages/")
    with django_assert_num_queries(3) as captured:  # the key; the job; one page of pages
        response = api.get(f"{SCRAPINGS_URL}{job.pk}/pages/")
    assert len(response.json()["results"]) == 15
    # The page's texts are not read for the list.
    for column in ('"text"', '"full_text"', '"content_markdown"'):
        assert column not in captured.captured_queries[-1]["sql"]


def test_the_page_list_returns_only_the_fields_asked_for(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    page = make_page(job, "http://example.com/", title="Home", summary="About home.")
    response = api.get(f"{SCRAPINGS_URL}{job.pk}/pages/", {"fields": "url,summary"})
    assert response.json()["results"] == [
        {"id": page.pk, "url": "http://example.com/", "summary": "About home."}
    ]


def test_the_page_list_rows_are_what_the_page_serializer_makes_of_each_page(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    """The list answers database rows as they are (no serializer runs for them): a field
    whose stored value is not its JSON form (a date, a UUID) would have to be added here."""
    job = make_job()
    make_page(job, "http://example.com/", status_code=200, title="Home", summary="About.")
    make_page(job, "http://example.com/gone", depth=1, outcome="failed", reason="http_4xx")
    make_page(job, "http://example.com/twin", canonical_url="http://example.com/", noindex=True)
    listed = api.get(f"{SCRAPINGS_URL}{job.pk}/pages/").json()["results"]
    pages = Page.objects.filter(scraping=job).order_by("id")
    assert listed == PageSerializer(pages, many=True, context={"fields": frozenset()}).data
    assert [list(row) for row in listed] == [list(PageSerializer.Meta.fields)] * 3


@pytest.mark.parametrize("fields", ["url,colour", "content_markdown", ","])
def test_an_unknown_field_name_is_400(
    api: APIClient,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    fields: str,
) -> None:
    # content_markdown is a field of the page detail, not of the list.
    response = api.get(f"{SCRAPINGS_URL}{make_job().pk}/pages/", {"fields": fields})
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error["fields"]) == {"fields"}
    assert "known: id, url," in error["fields"]["fields"][0]


def test_a_page_in_full_has_its_text_top_terms_links_and_images(
    api: APIClient,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    django_assert_num_queries: Any,
) -> None:
    job = make_job()
    page = make_page(
        job,
        "http://example.com/",
        text="hello world",
        content_markdown="# Hello\n\nworld",
        full_text="Menu hello world",
        content_type="text/html",
        terms={f"term{n:02d}": n + 1 for n in range(60)},
    )
    add_link(page, "http://example.com/a")
    add_link(page, "http://other.org/", internal=False, nofollow=True)
    image = Image.objects.create(
        scraping=job,
        page=page,
        url="http://example.com/cat.png",
        alt="a cat",
        caption="Tom",
        outcome="stored",
        s3_key="images/ab/cd.png",
        format="png",
        width=4,
        height=3,
        bytes=120,
        description="A grey cat on a mat.",
    )
    url = f"{SCRAPINGS_URL}{job.pk}/pages/{page.pk}/"
    api.get(url)

    with django_assert_num_queries(3):  # the key; the page (with its terms and links); images
        body = api.get(url).json()

    assert body["text"] == "hello world"
    assert body["content_type"] == "text/html"
    assert len(body["terms"]) == 50
    assert body["terms"][0] == {"term": "term59", "count": 60}
    assert body["terms"][-1] == {"term": "term10", "count": 11}
    assert body["links"] == [
        {"target_url": "http://example.com/a", "internal": True, "nofollow": False},
        {"target_url": "http://other.org/", "internal": False, "nofollow": True},
    ]
    assert body["images"] == [
        {
            "id": image.pk, "url": "http://example.com/cat.png", "alt": "a cat", "title": "",
            "caption": "Tom", "outcome": "stored", "reason": "", "s3_key": "images/ab/cd.png",
            "format": "png", "width": 4, "height": 3, "bytes": 120,
            "description": "A grey cat on a mat.", "described_by_llm": False,
        }
    ]  # fmt: skip
    assert (body["content_markdown"], body["full_text"]) == ("# Hello\n\nworld", "Menu hello world")


def test_a_page_in_part_reads_only_what_was_asked_for(
    api: APIClient,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    django_assert_num_queries: Any,
) -> None:
    job = make_job()
    page = make_page(job, "http://example.com/", text="hello", content_markdown="# hello")
    add_link(page, "http://example.com/a")
    url = f"{SCRAPINGS_URL}{job.pk}/pages/{page.pk}/"
    api.get(url)

    with django_assert_num_queries(2) as captured:  # the key; the page: no links, no images
        body = api.get(url, {"fields": "title,content_markdown"}).json()
    assert body == {"id": page.pk, "title": "", "content_markdown": "# hello"}
    assert '"full_text"' not in captured.captured_queries[-1]["sql"]
    assert api.get(url, {"fields": "links,colour"}).status_code == 400


# --- Other owners and unknown ids ----------------------------------------------------------


def test_another_owners_job_is_404_everywhere(
    api: APIClient,
    make_user: Any,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
) -> None:
    theirs = other_owners_job(make_user, make_job)
    page = make_page(theirs, "http://example.com/")
    for url in [
        f"{SCRAPINGS_URL}{theirs.pk}/",
        f"{SCRAPINGS_URL}{theirs.pk}/pages/",
        f"{SCRAPINGS_URL}{theirs.pk}/pages/{page.pk}/",
    ]:
        response = api.get(url)
        assert response.status_code == 404, url
        assert response.json()["error"]["code"] == "not_found"


def test_a_page_is_found_only_under_its_own_job(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    page = make_page(make_job(), "http://example.com/")
    other_job = make_job()
    assert api.get(f"{SCRAPINGS_URL}{other_job.pk}/pages/{page.pk}/").status_code == 404


# A fixed id that no job has (test ids must be the same in every pytest-xdist process).
UNKNOWN_JOB_ID = "2d70d15d-5b77-4cdb-9d0c-fd9d068d21f4"


@pytest.mark.parametrize(
    "path",
    [
        "not-a-uuid/",
        f"{UNKNOWN_JOB_ID}/",
        "not-a-uuid/pages/",
        f"{UNKNOWN_JOB_ID}/pages/",
        f"{UNKNOWN_JOB_ID}/pages/1/",
        "not-a-uuid/pages/x/",
    ],
)
def test_unknown_or_malformed_ids_are_a_json_404(api: APIClient, path: str) -> None:
    response = api.get(f"{SCRAPINGS_URL}{path}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("page_id", ["x", "0", "99999999999999999999999", "1e3"])
def test_a_malformed_page_id_is_404(
    api: APIClient, make_job: Callable[..., Scraping], page_id: str
) -> None:
    response = api.get(f"{SCRAPINGS_URL}{make_job().pk}/pages/{page_id}/")
    assert response.status_code == 404


def test_reads_need_an_api_key(make_job: Callable[..., Scraping]) -> None:
    assert APIClient().get(f"{SCRAPINGS_URL}{make_job().pk}/").status_code == 401


# --- Schema --------------------------------------------------------------------------------


def test_the_schema_documents_the_job_endpoints_and_is_valid_openapi() -> None:
    response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # type: ignore[no-untyped-call]
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/scrapings/"])
    assert "202" in paths["/api/v1/scrapings/"]["post"]["responses"]
    assert "get" in paths["/api/v1/scrapings/{job_id}/"]
    assert "get" in paths["/api/v1/scrapings/{job_id}/pages/"]
    assert "get" in paths["/api/v1/scrapings/{job_id}/pages/{page_id}/"]
