"""Repairs the reaper and the dead-letter drainer use for enrichment items."""

from __future__ import annotations

from typing import Any

import pytest

from config.queues import IMAGE_EXTRACTOR, PAGE_SUMMARIZER, queue_name
from isidorus import job_state
from isidorus.enrichment.recovery import enrichment_record_poisoned, enrichment_republish
from isidorus.integrations.aws import sqs_client
from isidorus.integrations.dead_letters import decode_celery_message
from isidorus.scrapings.models import Image, Page
from tests.enrichment.helpers import add_image, add_page, counters, new_job, open_items, status

pytestmark = pytest.mark.django_db(transaction=True)


def _job() -> tuple[str, int, int]:
    job_id = new_job()
    page_id = add_page(job_id, url="http://127.0.0.1:9/")
    image_id = add_image(job_id, page_id, url="http://127.0.0.1:9/a.png")
    open_items(job_id, pages=[page_id], images=[image_id])
    return job_id, page_id, image_id


def _take_messages(stage: str) -> list[tuple[str, Any] | None]:
    sqs = sqs_client()
    url = sqs.get_queue_url(QueueName=queue_name(stage))["QueueUrl"]
    found = []
    for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
        "Messages", []
    ):
        found.append(decode_celery_message(message["Body"]))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def test_open_enrichment_items_are_published_again(stack: Any) -> None:
    job_id, page_id, image_id = _job()
    assert enrichment_republish(job_id, job_state.open_items(job_id), token="reaper:1") == 2
    assert _take_messages(PAGE_SUMMARIZER) == [
        ("isidorus.summarize", {"v": 1, "job": job_id, "pages": [page_id]})
    ]
    assert _take_messages(IMAGE_EXTRACTOR) == [
        ("isidorus.extract_image", {"v": 1, "job": job_id, "images": [image_id]})
    ]


def test_a_dead_lettered_message_records_poison_and_the_job_ends(stack: Any) -> None:
    job_id, page_id, image_id = _job()
    enrichment_record_poisoned(job_id=job_id, kind="summary", ids=[page_id])
    assert Page.objects.get(pk=page_id).summary_error == "poison"
    assert status(job_id) == "RUNNING"  # the image is still open
    report = enrichment_record_poisoned(job_id=job_id, kind="image", ids=[image_id])
    assert (Image.objects.get(pk=image_id).outcome, report.remaining_open) == ("failed", 0)
    # Enrichment failures complete the job, with errors.
    assert status(job_id) == "COMPLETED_WITH_ERRORS"
    found = counters(job_id)
    assert found["summaries_failed_poison"] == found["images_failed_poison"] == 1
