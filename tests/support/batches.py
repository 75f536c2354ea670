"""A job with open page items and the writer's batches of them, for service-level tests
of the write path (tests/integration/test_write_effects.py, test_job_audit.py): stage
batches in S3, write them, run the enrichment messages they publish in-process."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from config.queues import IMAGE_EXTRACTOR, PAGE_SUMMARIZER, queue_name
from isidorus import job_state
from isidorus.contracts import EXTRACT_IMAGE, SUMMARIZE
from isidorus.enrichment.follow_ups import enrichment_release
from isidorus.enrichment.images import extract_images
from isidorus.enrichment.summaries import summarize_pages
from isidorus.integrations import job_table
from isidorus.integrations.aws import sqs_client
from isidorus.integrations.dead_letters import decode_celery_message
from isidorus.scrapings.models import Image, Page, Scraping
from isidorus.scrapings.services.write import write_batch
from isidorus.scrapings.staging import stage_put, staging_key
from tests.enrichment.helpers import ARTICLE, counters, new_job, status
from tests.support.site import FixtureSite

PAGES = 4


class WriterDied(Exception):
    """Stands for the writer's death at one step (the crash loop kills real processes)."""


def _record(url: str, image_url: str) -> dict[str, Any]:
    """A fetched page as the scraper stages it."""
    return {
        "url": url, "fp": hashlib.sha1(url.encode()).hexdigest(), "final_url": url,
        "status_code": 200, "content_type": "text/html", "title": "Lighthouses",
        "depth": 1, "parent_url": "http://127.0.0.1:9/", "bytes": 1200,
        "fetched_at": datetime.now(UTC).isoformat(), "outcome": "fetched", "reason": "",
        "text": ARTICLE, "terms": {"lighthouse": 5, "keepers": 3},
        "links": [["http://127.0.0.1:9/", True, False]],
        "images": [[image_url, "a lighthouse", "", ""]],
    }  # fmt: skip


class Crawl:
    """A job with PAGES open page items, and helpers to stage and write batches of them."""

    def __init__(self, site: FixtureSite) -> None:
        self.job_id = new_job()
        self.urls = [f"{site.origin}/page-{i}.html" for i in range(PAGES)]
        self.records = {u: _record(u, site.url(f"/img/{i}.png")) for i, u in enumerate(self.urls)}
        self.items = {u: job_state.page_item(self.records[u]["fp"]) for u in self.urls}
        job_state.open_new(
            self.job_id,
            {self.items[u]: {"d": 1, "p": "http://127.0.0.1:9/", "u": u} for u in self.urls},
        )

    def write(self, urls: list[str], batch_id: str | None = None) -> Any:
        batch_id = batch_id or uuid.uuid4().hex[:24]
        key = staging_key(self.job_id, batch_id)
        stage_put(self.job_id, key, {"pages": [self.records[u] for u in urls], "duplicates": 0})
        return write_batch(
            job_id=self.job_id, batch_id=batch_id, key=key, items=[self.items[u] for u in urls]
        )


def fail_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    calls: list[int] = []
    real: Callable[..., Any] = getattr(owner, name)

    def dying(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise WriterDied(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, dying)
    return calls


def inject(monkeypatch: pytest.MonkeyPatch, step: str) -> list[int]:
    """Make the writer die at `step`: the first call of the function that starts it raises."""
    if step == "commit->counters":
        return fail_once(monkeypatch, job_table, "job_item_add_counters_once")
    if step == "counters->publish":
        return fail_once(monkeypatch, job_state, "open_new")
    assert step == "publish->close"
    return fail_once(monkeypatch, job_state, "close")


def _receive_all(stage: str) -> list[str]:
    """Take every message waiting in the stage's queue (deleted from it): their bodies."""
    sqs = sqs_client()
    url = sqs.get_queue_url(QueueName=queue_name(stage))["QueueUrl"]
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
            "Messages", []
        )
        if not messages:
            return bodies
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _decoded(raw: str) -> tuple[str, Any]:
    decoded = decode_celery_message(raw)
    assert decoded is not None
    return decoded


def take(stage: str) -> list[tuple[str, Any]]:
    """Take every message waiting in the stage's queue: (task name, first argument) each."""
    return [_decoded(raw) for raw in _receive_all(stage)]


def take_tasks(stage: str) -> list[tuple[str, Any]]:
    """Take every message waiting in the stage's queue: (task id, first argument) each."""
    return [
        (str(json.loads(base64.b64decode(raw))["headers"]["id"]), _decoded(raw)[1])
        for raw in _receive_all(stage)
    ]


def drain_enrichment_queues() -> None:
    take_tasks(PAGE_SUMMARIZER)
    take_tasks(IMAGE_EXTRACTOR)


def run_enrichment(job_id: str, *, rounds: int | None = None) -> int:
    """Run the published summary and image messages in-process as their tasks do (the
    service, then the release of the job's next held batch) until none is left (or for
    `rounds` rounds of what is queued); returns how many messages ran."""
    ran = 0
    while rounds is None or rounds > 0:
        rounds = None if rounds is None else rounds - 1
        summaries = take_tasks(PAGE_SUMMARIZER)
        images = take_tasks(IMAGE_EXTRACTOR)
        if not (summaries or images):
            break
        for task_id, body in summaries:
            if body["job"] == job_id:
                summarize_pages(job_id=job_id, page_ids=body["pages"], delivery_token=task_id)
                enrichment_release(SUMMARIZE, job_id, task_id)
                ran += 1
        for task_id, body in images:
            if body["job"] == job_id:
                extract_images(job_id=job_id, image_ids=body["images"], delivery_token=task_id)
                enrichment_release(EXTRACT_IMAGE, job_id, task_id)
                ran += 1
    return ran


def assert_exact(crawl: Crawl) -> None:
    """Every store holds exactly what an undisturbed write of the pages holds."""
    job_id = crawl.job_id
    assert status(job_id) == "COMPLETED", (
        Scraping.objects.get(pk=job_id).status_reason,
        job_state.open_items(job_id),
    )
    found = counters(job_id)
    assert found["pages_fetched"] == PAGES
    assert (found["links"], found["images"]) == (PAGES, PAGES)
    assert (found.get("summaries"), found.get("images_stored")) == (PAGES, PAGES)
    pages = Page.objects.filter(scraping_id=job_id)
    assert pages.count() == PAGES
    assert pages.filter(summary="").count() == 0
    assert Image.objects.filter(scraping_id=job_id, outcome="stored").count() == PAGES
    assert job_state.open_count(job_id) == 0
