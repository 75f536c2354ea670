"""Repairs for enrichment items, for the reaper and the dead-letter drainer
(isidorus/maintenance.py) to call.

- `enrichment_republish`: a stalled job's open `summary:` / `image:` items get a new
  message (their claims released first), like the reaper does for `page:` items.
- `enrichment_record_poisoned`: a summary or image message that reached its DLQ records
  its rows as failed with reason `poison` and closes their items, so the job still ends.
"""

from __future__ import annotations

from typing import Any

from isidorus import job_state
from isidorus.enrichment import images as image_service
from isidorus.enrichment import summaries as summary_service
from isidorus.enrichment.common import EnrichmentReport, close_finished
from isidorus.scrapings.jobs import job_is_stopped
from isidorus.scrapings.models import Image, Page, Scraping
from isidorus.scrapings.services.enrichment_dispatch import publish_enrichment_messages

POISON = "poison"
KINDS = {"summary": job_state.SUMMARY, "image": job_state.IMAGE}


def _ids(items: dict[str, dict[str, Any]] | list[str], kind: job_state.ItemKind) -> list[int]:
    return sorted(row_id for item in items if (row_id := kind.row_id(item)) is not None)


def enrichment_republish(
    job_id: str, items: dict[str, dict[str, Any]] | list[str], *, token: str
) -> int:
    """Publish again the open enrichment items among `items`, through the job's pacing
    under `token`; returns how many."""
    summaries = _ids(items, job_state.SUMMARY)
    images = _ids(items, job_state.IMAGE)
    job_state.release_claims(
        job_id=job_id,
        items=[job_state.summary_item(i) for i in summaries]
        + [job_state.image_item(i) for i in images],
    )
    publish_enrichment_messages(job_id, summaries, images, token=token)
    return len(summaries) + len(images)


def enrichment_record_poisoned(*, job_id: str, kind: str, ids: list[int]) -> EnrichmentReport:
    """Record the rows of a dead-lettered message as failed (`poison`) and close their items."""
    report = EnrichmentReport()
    if kind not in KINDS or not Scraping.objects.filter(pk=job_id).exists():
        return report
    if job_is_stopped(job_id):
        return report
    if kind == "summary":
        Page.objects.filter(pk__in=ids, scraping_id=job_id, summary="", summary_error="").update(
            summary_error=POISON
        )
        summary_service.add_counters(job_id, ids)
        items = [job_state.summary_item(i) for i in ids]
    else:
        rows = Image.objects.filter(pk__in=ids, scraping_id=job_id)
        rows.filter(outcome="").update(outcome=image_service.FAILED, reason=POISON)
        rows.filter(outcome=image_service.STORED, description="", reason="").update(
            reason=f"describe_{POISON}"
        )
        image_service.add_counters(job_id, ids)
        items = [job_state.image_item(i) for i in ids]
    report.finished = list(ids)
    close_finished(job_id, items, report)
    return report
