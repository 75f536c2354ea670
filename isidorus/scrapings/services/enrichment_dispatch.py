"""Hand-off from the writer to the enrichment queues (summaries and images).

The writer records which pages and images of a batch need enrichment in the same
transaction as the rows. It then opens their items and publishes their messages before it
closes the batch's own items, so the job cannot complete while enrichment is pending. A
per-batch flag, set after publishing, keeps a redelivered writer message from publishing
twice; a crash before the flag re-opens and re-publishes (the enrichment tasks are
idempotent and close an already-finished item at once).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from isidorus import job_state
from isidorus.contracts import EXTRACT_IMAGE, SUMMARIZE, ImageBody, SummaryBody
from isidorus.publishing import publish

ENRICHMENT_BATCH = 16


def enrichment_for_batch(
    *, summarize: bool, describe_images: bool, page_ids: list[int], image_ids: list[int]
) -> dict[str, list[int]]:
    if not settings.ISIDORUS_ENRICHMENT_ENABLED:
        return {}
    return {
        "summaries": page_ids if summarize else [],
        "images": image_ids if describe_images else [],
    }


def publish_enrichment(job_id: str, batch_id: str, enrichment: dict[str, Any]) -> None:
    summaries = [int(i) for i in enrichment.get("summaries", [])]
    images = [int(i) for i in enrichment.get("images", [])]
    if not (summaries or images) or job_state.get_flag(job_id, job_state.Flag.ENRICHED, batch_id):
        return
    job_state.open_new(job_id, enrichment_items(summaries, images))
    publish_enrichment_messages(job_id, summaries, images)
    job_state.set_flag(job_id, job_state.Flag.ENRICHED, batch_id)


def enrichment_items(summaries: list[int], images: list[int]) -> dict[str, dict[str, Any]]:
    """The open items (and their payloads) of these pages' summaries and these images."""
    items = {job_state.summary_item(i): {"k": "summary", "id": i} for i in summaries}
    items.update({job_state.image_item(i): {"k": "image", "id": i} for i in images})
    return items


def publish_enrichment_messages(job_id: str, summaries: list[int], images: list[int]) -> None:
    for start in range(0, len(summaries), ENRICHMENT_BATCH):
        publish(SUMMARIZE, SummaryBody(job_id, tuple(summaries[start : start + ENRICHMENT_BATCH])))
    for start in range(0, len(images), ENRICHMENT_BATCH):
        publish(EXTRACT_IMAGE, ImageBody(job_id, tuple(images[start : start + ENRICHMENT_BATCH])))
