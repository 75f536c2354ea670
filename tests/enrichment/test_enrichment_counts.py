"""Finished enrichment rows counted once each, in units of one delivery's rows (layout 3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from isidorus.integrations import job_counters
from isidorus.integrations.aws import dynamodb_client
from isidorus.scrapings.models import EnrichmentCounted, EnrichmentUnit, Image
from isidorus.scrapings.services.enrichment_counts import (
    IMAGE,
    _record_units,
    count_finished,
)
from tests.enrichment.helpers import add_image, add_page, counters, new_job

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def updates() -> Iterator[list[str]]:
    """The DynamoDB UpdateItem calls made from here on."""
    calls: list[str] = []
    events = dynamodb_client().meta.events

    def note(**_: Any) -> None:
        calls.append("UpdateItem")

    events.register("before-call.dynamodb.UpdateItem", note, "enrichment-count-updates")
    yield calls
    events.unregister("before-call.dynamodb.UpdateItem", unique_id="enrichment-count-updates")


def stored_images(job: str, count: int) -> list[int]:
    page = add_page(job, url=f"http://127.0.0.1:9/p{count}")
    ids = [add_image(job, page, url=f"http://127.0.0.1:9/{n}.png") for n in range(count)]
    Image.objects.filter(pk__in=ids).update(outcome="stored", description="A picture.")
    return ids


def test_a_deliverys_rows_count_with_one_update_and_a_redelivery_adds_only_new_rows(
    stack: Any, updates: list[str]
) -> None:
    job = new_job(summarize=False)
    ids = stored_images(job, 20)
    before = len(updates)

    count_finished(job, IMAGE, ids[:16])
    assert len(updates) - before == 1
    count_finished(job, IMAGE, ids)  # a redelivery that finished four more rows

    assert counters(job)["images_stored"] == 20
    assert EnrichmentCounted.objects.filter(scraping_id=job).count() == 20
    assert EnrichmentUnit.objects.filter(scraping_id=job).count() == 2


def test_a_unit_recorded_by_a_delivery_that_died_before_its_update_is_added_by_the_next(
    stack: Any,
) -> None:
    job = new_job(summarize=False)
    ids = stored_images(job, 8)
    _record_units(job, IMAGE, ids[:5])  # recorded in PostgreSQL, never added to DynamoDB
    assert "images_stored" not in counters(job)

    count_finished(job, IMAGE, ids)
    count_finished(job, IMAGE, ids)

    assert counters(job)["images_stored"] == 8
    assert EnrichmentUnit.objects.filter(scraping_id=job).count() == 2


def test_a_failed_row_counts_as_failed_with_its_reason(stack: Any) -> None:
    job = new_job(summarize=False)
    page = add_page(job, url="http://127.0.0.1:9/")
    image = add_image(job, page, url="http://127.0.0.1:9/x.png")
    Image.objects.filter(pk=image).update(outcome="failed", reason="not_an_image")
    count_finished(job, IMAGE, [image])
    found = counters(job)
    assert (found["images_failed"], found["images_failed_not_an_image"]) == (1, 1)


def test_a_job_created_before_units_keeps_one_unit_per_row(stack: Any) -> None:
    job = new_job(summarize=False)
    dynamodb_client().update_item(
        TableName=settings.JOBS_TABLE,
        Key={"scraping_id": {"S": job}},
        UpdateExpression="SET counter_layout = :two",
        ExpressionAttributeValues={":two": {"N": "2"}},
    )
    job_counters._shard_counts.pop(job, None)
    ids = stored_images(job, 3)

    count_finished(job, IMAGE, ids)
    count_finished(job, IMAGE, ids)

    assert counters(job)["images_stored"] == 3
    assert not EnrichmentCounted.objects.filter(scraping_id=job).exists()
