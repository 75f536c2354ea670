"""Hand-off from the writer to the enrichment queues (summaries and images).

The writer records which pages and images of a batch need enrichment in the same
transaction as the rows. It then opens their items and publishes their messages before it
closes the batch's own items, so the job cannot complete while enrichment is pending. A
per-batch flag, set after publishing, keeps a redelivered writer message from publishing
twice; a crash before the flag re-opens and re-publishes (the enrichment tasks are
idempotent and close an already-finished item at once).

The messages go out through each job's pacing on the enrichment stages (publish_paced,
docs/fairness.md): a big job's thousands of summaries and images wait in its held lists,
and each finished enrichment batch releases the next (isidorus/enrichment/follow_ups.py), so a small
job's enrichment does not queue behind them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from isidorus import job_state
from isidorus.contracts import EXTRACT_IMAGE, SUMMARIZE, ImageBody, SummaryBody
from isidorus.publishing import publish_paced

NO_PROVIDER = "none"


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
    # The same token on a redelivery: a crash between pacing and publishing is replayed.
    publish_enrichment_messages(job_id, summaries, images, token=f"{batch_id}:enrich")
    job_state.set_flag(job_id, job_state.Flag.ENRICHED, batch_id)


def enrichment_items(summaries: list[int], images: list[int]) -> dict[str, dict[str, Any]]:
    """The open items (and their payloads) of these pages' summaries and these images."""
    items = {job_state.summary_item(i): {"k": "summary", "id": i} for i in summaries}
    items.update({job_state.image_item(i): {"k": "image", "id": i} for i in images})
    return items


def publish_enrichment_messages(
    job_id: str, summaries: list[int], images: list[int], *, token: str
) -> None:
    """Hand these rows to the enrichment stages through the job's pacing, under `token`
    (the same on a retry of the same hand-off)."""
    summary_bodies = [
        SummaryBody(job_id, chunk) for chunk in _chunks(summaries, settings.SUMMARY_PROVIDER)
    ]
    if summary_bodies:
        publish_paced(SUMMARIZE, summary_bodies, job_id=job_id, token=token, stage_worker=False)
    image_bodies = [
        ImageBody(job_id, chunk) for chunk in _chunks(images, settings.IMAGE_DESCRIBER_PROVIDER)
    ]
    if image_bodies:
        publish_paced(EXTRACT_IMAGE, image_bodies, job_id=job_id, token=token, stage_worker=False)


def _chunks(ids: list[int], provider: str) -> list[tuple[int, ...]]:
    size = (
        settings.ENRICHMENT_BATCH_OFFLINE
        if provider == NO_PROVIDER
        else settings.ENRICHMENT_BATCH_LLM
    )
    return [tuple(ids[i : i + size]) for i in range(0, len(ids), size)]
