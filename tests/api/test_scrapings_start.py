"""POST /api/v1/scrapings/: validation, the 202 answer, idempotency and the start limits.

These tests run inside the test transaction, so the launch (registered with on_commit)
never runs: nothing is published to SQS.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from isidorus.accounts.services import api_key_create
from isidorus.job_state.limits import daily_quota_key
from isidorus.scrapings.models import JobStatus, Scraping

pytestmark = pytest.mark.django_db
SCRAPINGS_URL = "/api/v1/scrapings/"


def start(api: APIClient, body: Any, **headers: str) -> Any:
    return api.post(SCRAPINGS_URL, body, format="json", headers=headers)


def test_start_answers_202_with_the_job_and_an_absolute_status_url(
    api: APIClient, owner: Any
) -> None:
    response = start(api, {"url": "HTTP://Example.COM:80/a/../docs/?utm_source=x#top"})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "QUEUED"
    assert body["status_url"] == f"http://testserver{SCRAPINGS_URL}{body['id']}/"
    assert body["pages_url"] == f"http://testserver{SCRAPINGS_URL}{body['id']}/pages/"
    assert body["url"] == "http://example.com/docs/"
    assert body["depth"] == 1
    assert body["max_pages"] == settings.CRAWL_DEFAULT_MAX_PAGES
    assert body["scope"] == "host"
    assert body["include"] == body["exclude"] == []
    assert body["respect_robots"] is body["summarize"] is body["describe_images"] is True
    assert body["created_at"].endswith("Z")
    assert body["started_at"] is None
    job = Scraping.objects.get(pk=body["id"])
    assert job.owner == owner
    assert job.url == "http://example.com/docs/"


def test_start_keeps_every_option_given(api: APIClient) -> None:
    options = {
        "url": "https://example.com/docs/",
        "depth": 0,
        "max_pages": 7,
        "scope": "prefix",
        "include": [r"/docs/ "],
        "exclude": [r"\.pdf$"],
        "respect_robots": False,
        "summarize": False,
        "describe_images": False,
    }
    response = start(api, options)
    assert response.status_code == 202
    assert {name: response.json()[name] for name in options} == options
    job = Scraping.objects.get(pk=response.json()["id"])
    assert (job.include, job.exclude, job.respect_robots) == ([r"/docs/ "], [r"\.pdf$"], False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "example.com/page"}, "url"),
        ({"url": "http://exa mple.com:99999/"}, "url"),
        ({"url": "http://example.com/" + "a" * 2048}, "url"),
        ({}, "url"),
        ({"url": "http://example.com/", "depth": settings.CRAWL_MAX_DEPTH + 1}, "depth"),
        ({"url": "http://example.com/", "depth": -1}, "depth"),
        ({"url": "http://example.com/", "max_pages": 0}, "max_pages"),
        (
            {"url": "http://example.com/", "max_pages": settings.CRAWL_MAX_PAGES_LIMIT + 1},
            "max_pages",
        ),
        ({"url": "http://example.com/", "scope": "planet"}, "scope"),
        ({"url": "http://example.com/", "include": ["(unclosed"]}, "include"),
        ({"url": "http://example.com/", "exclude": ["x"] * 51}, "exclude"),
        ({"url": "http://example.com/", "exclude": "not-a-list"}, "exclude"),
        ({"url": "http://example.com/", "respect_robots": "maybe"}, "respect_robots"),
        ({"url": "http://example.com/", "colour": "red"}, "colour"),
    ],
)
def test_start_names_the_bad_field(api: APIClient, body: dict[str, Any], field: str) -> None:
    response = start(api, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {field}
    assert not Scraping.objects.exists()


def test_start_names_every_bad_field_at_once(api: APIClient) -> None:
    body = {"url": "ftp://example.com/", "depth": 99, "include": ["[a-"], "colour": "red"}
    response = start(api, body)
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"url", "depth", "include", "colour"}
    assert fields["colour"] == ["unknown field"]
    assert "not a valid regular expression" in fields["include"][0]


@override_settings(CRAWL_MAX_DEPTH=2)
def test_the_depth_limit_follows_the_setting(api: APIClient) -> None:
    response = start(api, {"url": "http://example.com/", "depth": 3})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["depth"] == ["must be from 0 to 2"]


def test_a_non_json_body_is_400(api: APIClient) -> None:
    response = api.generic("POST", SCRAPINGS_URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_a_json_body_that_is_not_an_object_is_400(api: APIClient) -> None:
    response = start(api, ["http://example.com/"])
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"non_field_errors"}


def test_a_retried_start_with_the_same_idempotency_key_returns_the_same_job(
    api: APIClient, django_capture_on_commit_callbacks: Any
) -> None:
    body = {"url": "http://example.com/"}
    with django_capture_on_commit_callbacks() as launches:
        first = start(api, body, **{"Idempotency-Key": "order-42"})
        again = start(api, body, **{"Idempotency-Key": "order-42"})
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(launches) == 1  # the retry launches nothing
    other = start(api, body, **{"Idempotency-Key": "order-43"})
    assert other.status_code == 202
    assert other.json()["id"] != first.json()["id"]
    assert Scraping.objects.count() == 2


def test_idempotency_keys_are_per_owner(api: APIClient, make_user: Any, client_for: Any) -> None:
    _, other_raw = api_key_create(owner=make_user("bob"), name="bob")
    mine = start(api, {"url": "http://example.com/"}, **{"Idempotency-Key": "same"})
    theirs = start(
        client_for(other_raw), {"url": "http://example.com/"}, **{"Idempotency-Key": "same"}
    )
    assert (mine.status_code, theirs.status_code) == (202, 202)
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.parametrize("key", ["", "   ", "k" * 201])
def test_a_bad_idempotency_key_is_400(api: APIClient, key: str) -> None:
    response = start(api, {"url": "http://example.com/"}, **{"Idempotency-Key": key})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"Idempotency-Key"}
    assert not Scraping.objects.exists()


@override_settings(ISIDORUS_MAX_RUNNING_JOBS=2)
def test_the_running_job_limit_refuses_one_more_start(api: APIClient) -> None:
    body = {"url": "http://example.com/"}
    assert [start(api, body).status_code for _ in range(2)] == [202, 202]
    refused = start(api, body)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30"
    assert refused.json() == {
        "error": {
            "code": "too_many_running_jobs",
            "message": "at most 2 jobs may run at once",
            "fields": {},
        }
    }
    assert Scraping.objects.count() == 2


@override_settings(ISIDORUS_MAX_RUNNING_JOBS=2)
def test_finished_jobs_do_not_count_against_the_running_job_limit(api: APIClient) -> None:
    body = {"url": "http://example.com/"}
    first = start(api, body).json()["id"]
    start(api, body)
    Scraping.objects.filter(pk=first).update(status=JobStatus.COMPLETED)
    assert start(api, body).status_code == 202


@override_settings(ISIDORUS_CRAWL_STARTS_PER_MINUTE=1)
def test_the_crawl_start_rate_limit_refuses_with_retry_after(api: APIClient) -> None:
    # Three starts against a limit of one: even if a minute window ends between two of
    # them, two of the three share a window, so one is refused.
    responses = [start(api, {"url": f"http://example.com/{n}"}) for n in range(3)]
    assert responses[0].status_code == 202
    refused = next(response for response in responses if response.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 61
    # Reads are not crawl starts.
    assert api.get(SCRAPINGS_URL).status_code == 200


@override_settings(ISIDORUS_DAILY_PAGE_QUOTA=10)
def test_an_exhausted_daily_quota_refuses_the_start(
    api: APIClient, owner: Any, redis_clean: Any
) -> None:
    redis_clean.set(daily_quota_key(owner.pk), 10)
    refused = start(api, {"url": "http://example.com/"})
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "daily_page_quota_exhausted"
    assert error["fields"] == {}
    assert 1 <= int(refused["Retry-After"]) <= 86400
    assert not Scraping.objects.exists()


def test_start_needs_an_api_key() -> None:
    response = APIClient().post(SCRAPINGS_URL, {"url": "http://example.com/"}, format="json")
    assert response.status_code == 401
    assert not Scraping.objects.exists()
