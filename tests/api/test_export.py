"""GET /api/v1/scrapings/{id}/export/ in process: each format, what it leaves out, and its
limits. The real server streaming a long export: tests/e2e/test_export_server.py."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from isidorus.scrapings.exports.service import TooManyExports, export_start
from isidorus.scrapings.models import Image, JobStatus, Page, Scraping
from isidorus.scrapings.search import Inclusion
from tests.support.links import add_link

pytestmark = pytest.mark.django_db


def _export_url(job: Scraping) -> str:
    return f"/api/v1/scrapings/{job.pk}/export/"


def _body(response: Any) -> bytes:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


@pytest.fixture
def job(
    make_job: Callable[..., Scraping], make_page: Callable[..., Page], aws_resources: Any
) -> Scraping:
    job = make_job(status=JobStatus.COMPLETED)
    home = make_page(
        job, "http://example.com/", title="=cmd|' /C calc'!A0", depth=0, status_code=200,
        summary="About the home page.", summary_model="offline/extractive",
        content_source="main", content_markdown="# Home\n\nWelcome.",
        terms={"home": 3, "welcome": 1},
    )  # fmt: skip
    add_link(home, "http://example.com/a")
    add_link(home, "http://example.com/b")
    Image.objects.create(
        scraping=job, page=home, url="http://example.com/cat.png", alt="a cat",
        outcome="stored", s3_key="images/ab.png", description="A grey cat.",
    )  # fmt: skip
    make_page(job, "http://example.com/missing", outcome="failed", reason="http_4xx", depth=1)
    make_page(job, "http://example.com/hidden", noindex=True, content_markdown="Hidden.", depth=1)
    make_page(
        job, "http://example.com/copy", is_canonical=False, content_markdown="Copy.", depth=1,
        canonical_url="http://example.com/",
    )  # fmt: skip
    return job


def test_jsonl_has_every_page_then_a_summary_record(api: APIClient, job: Scraping) -> None:
    response = api.get(_export_url(job), {"format": "jsonl"})
    assert response["Content-Type"] == "application/x-ndjson"
    assert f'filename="isidorus-{job.pk}.jsonl"' in response["Content-Disposition"]
    *pages, summary = [json.loads(line) for line in _body(response).splitlines()]
    assert [page["url"] for page in pages] == ["http://example.com/", "http://example.com/missing"]
    home = pages[0]
    assert home["markdown"] == "# Home\n\nWelcome."
    assert (home["summary"], home["summary_model"]) == (
        "About the home page.",
        "offline/extractive",
    )
    assert home["top_terms"] == [{"term": "home", "count": 3}, {"term": "welcome", "count": 1}]
    assert home["link_count"] == 2
    assert home["images"] == [
        {"url": "http://example.com/cat.png", "alt": "a cat", "outcome": "stored",
         "reason": "", "s3_key": "images/ab.png", "description": "A grey cat."}
    ]  # fmt: skip
    assert (pages[1]["outcome"], pages[1]["reason"]) == ("failed", "http_4xx")
    assert summary == {
        "type": "summary", "job": str(job.pk), "pages": 2, "status": "COMPLETED",
        "finished": True,
    }  # fmt: skip


def test_noindex_pages_and_duplicates_come_only_when_asked(api: APIClient, job: Scraping) -> None:
    flags = {"include_noindex": "true", "include_duplicates": "true"}
    lines = _body(api.get(_export_url(job), flags)).splitlines()
    urls = [json.loads(line).get("url") for line in lines[:-1]]
    assert urls == [
        "http://example.com/",
        "http://example.com/missing",
        "http://example.com/hidden",
        "http://example.com/copy",
    ]


def test_a_running_job_says_its_export_is_not_finished(
    api: APIClient, make_job: Callable[..., Scraping], aws_resources: Any
) -> None:
    job = make_job(status=JobStatus.RUNNING)
    summary = json.loads(_body(api.get(_export_url(job))).splitlines()[-1])
    assert (summary["pages"], summary["status"], summary["finished"]) == (0, "RUNNING", False)


def test_csv_neutralises_formulas(api: APIClient, job: Scraping) -> None:
    response = api.get(_export_url(job), {"format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(_body(response).decode())))
    assert [row["url"] for row in rows] == ["http://example.com/", "http://example.com/missing"]
    assert rows[0]["title"] == "'=cmd|' /C calc'!A0"
    assert json.loads(rows[0]["images"])[0]["description"] == "A grey cat."
    assert rows[0]["link_count"] == "2"


def test_markdown_is_a_zip_of_pages_and_a_manifest(api: APIClient, job: Scraping) -> None:
    response = api.get(_export_url(job), {"format": "markdown"})
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(_body(response)))
    assert archive.testzip() is None
    assert archive.namelist() == ["example.com/index.md", "manifest.json"]
    page = archive.read("example.com/index.md").decode()
    assert page.startswith('---\nurl: "http://example.com/"\n')
    assert page.endswith("---\n\n# Home\n\nWelcome.\n")
    manifest = json.loads(archive.read("manifest.json"))
    assert (manifest["files"], manifest["finished"]) == (1, True)


@pytest.mark.parametrize("query", [{"format": "xml"}, {"include_noindex": "yes"}])
def test_bad_options_are_400(api: APIClient, job: Scraping, query: dict[str, str]) -> None:
    response = api.get(_export_url(job), query)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(query)


def test_another_owners_job_is_404(
    api: APIClient, make_user: Callable[..., Any], make_job: Callable[..., Scraping]
) -> None:
    theirs = make_job(owner=make_user("mallory"))
    response = api.get(_export_url(theirs))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_owner_runs_a_bounded_number_of_exports_at_once(
    api: APIClient, job: Scraping, settings: Any
) -> None:
    settings.ISIDORUS_MAX_CONCURRENT_EXPORTS = 2
    running = [api.get(_export_url(job)) for _ in range(2)]
    refused = api.get(_export_url(job))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_exports"
    assert int(refused["Retry-After"]) > 0
    _body(running[0])  # read to its end: its slot is given back
    third = api.get(_export_url(job))
    assert third.status_code == 200
    assert api.get(_export_url(job)).status_code == 429
    for response in (running[1], third):
        _body(response)

    # A client that goes away unread: the server closes the stream, which frees the slot.
    abandoned = [export_start(job=job, file_format="jsonl", include=Inclusion()) for _ in "ab"]
    with pytest.raises(TooManyExports):
        export_start(job=job, file_format="jsonl", include=Inclusion())
    abandoned[0].stream.close()
    export_start(job=job, file_format="jsonl", include=Inclusion()).stream.close()
    abandoned[1].stream.close()


def test_the_command_writes_the_same_export(
    job: Scraping, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    call_command("export", str(job.pk), "--format", "jsonl")
    lines = capfdbinary.readouterr().out.splitlines()
    assert json.loads(lines[-1])["pages"] == 2
    assert json.loads(lines[0])["url"] == "http://example.com/"
