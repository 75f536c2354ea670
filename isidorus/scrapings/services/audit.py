"""The audit every job passes before a terminal status (issue 19).

Compare the stores: page rows in PostgreSQL by outcome against the DynamoDB counters;
fetched pages with text against summaries plus `summary_error`s (when the job summarises);
image rows against their outcomes (when the job describes images). A mismatch is repaired
once (missing counters re-added by owning batch, missing enrichment published again); if
the job is still short after that, the affected rows get a reason of their own and the
job's status reason names the loss.

Cost: one SQL statement (a grouped count and two filtered id lists, all on the job's
indexes) and one DynamoDB read of the job item and its counter shards, once per job at
its end. bench/audit_bench.py measures it (`make bench-audit`; docs/benchmarks.md).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from isidorus import job_state
from isidorus.integrations import job_table
from isidorus.scrapings.jobs import JobConfig
from isidorus.scrapings.models import WriteBatch
from isidorus.scrapings.services.enrichment_dispatch import (
    enrichment_items,
    publish_enrichment_messages,
)
from isidorus.scrapings.services.unfinished import (
    images_record_unfinished,
    summaries_record_unfinished,
)

ENRICHMENT_LOST = "enrichment_lost"
OUTCOMES = ("fetched", "failed", "skipped")

_AUDIT_SQL = """
SELECT
  COALESCE((
    SELECT jsonb_object_agg(outcome, total) FROM (
      SELECT outcome, count(*) AS total FROM scrapings_page
      WHERE scraping_id = %(job)s GROUP BY outcome
    ) AS by_outcome
  ), '{}'::jsonb),
  ARRAY(
    SELECT id FROM scrapings_page
    WHERE %(summaries)s AND scraping_id = %(job)s AND outcome = 'fetched'
      AND summary = '' AND summary_error = '' AND text <> ''
    ORDER BY id
  ),
  ARRAY(
    SELECT id FROM scrapings_image
    WHERE %(images)s AND scraping_id = %(job)s AND outcome = ''
    ORDER BY id
  )
"""


@dataclass(frozen=True)
class AuditFindings:
    rows: dict[str, int]  # page rows by outcome (PostgreSQL)
    counted: dict[str, int]  # pages_<outcome> counters (DynamoDB)
    summaries_missing: list[int] = field(default_factory=list)
    images_missing: list[int] = field(default_factory=list)
    expand_lost: dict[str, int] = field(default_factory=dict)  # reason -> expand items lost

    @property
    def counters_off(self) -> dict[str, int]:
        """outcome -> rows minus counted, for the outcomes where they differ."""
        off = {o: self.rows.get(o, 0) - self.counted.get(o, 0) for o in OUTCOMES}
        return {outcome: delta for outcome, delta in off.items() if delta}

    @property
    def clean(self) -> bool:
        missing = self.summaries_missing or self.images_missing
        return not (self.counters_off or missing or self.expand_lost)


def _enrichment_on(job: JobConfig) -> tuple[bool, bool]:
    enabled = bool(settings.ISIDORUS_ENRICHMENT_ENABLED)
    return enabled and job.summarize, enabled and job.describe_images


def job_audit(job: JobConfig) -> AuditFindings:
    summaries, images = _enrichment_on(job)
    with connection.cursor() as cursor:
        cursor.execute(_AUDIT_SQL, {"job": job.id, "summaries": summaries, "images": images})
        by_outcome, summary_ids, image_ids = cursor.fetchone()
    if isinstance(by_outcome, str):  # Django's psycopg loader hands jsonb over as text
        by_outcome = json.loads(by_outcome)
    item = job_table.job_item_get(job.id) or {}
    return AuditFindings(
        rows={str(k): int(v) for k, v in by_outcome.items()},
        counted={o: int(item.get(f"pages_{o}") or 0) for o in OUTCOMES},
        summaries_missing=list(summary_ids),
        images_missing=list(image_ids),
        expand_lost={
            name.removeprefix("expand_"): int(value)
            for name, value in item.items()
            if name.startswith("expand_") and value
        },
    )


def job_audit_repair(job_id: str, findings: AuditFindings) -> bool:
    """Repair once: re-add every batch's counters (once each), publish missing enrichment.

    Returns True if work was opened again (the job is not done until it closes).
    """
    if findings.counters_off:
        for batch in WriteBatch.objects.filter(scraping_id=job_id).exclude(counts={}):
            counts = {name: value for name, value in batch.counts.items() if name != "empty"}
            job_table.job_item_add_counters_once(job_id, batch.batch_id, counts)
    summaries, images = findings.summaries_missing, findings.images_missing
    if not (summaries or images):
        return False
    items = enrichment_items(summaries, images)
    job_state.release_claims(job_id=job_id, items=list(items))
    job_state.open_new(job_id, items)
    publish_enrichment_messages(job_id, summaries, images, token=f"audit:{uuid.uuid4().hex}")
    return True


def job_audit_record_losses(job_id: str, findings: AuditFindings) -> str:
    """Give the rows still short a reason of their own; returns the status reason part."""
    parts = []
    summaries = summaries_record_unfinished(job_id, ENRICHMENT_LOST, findings.summaries_missing)
    images = images_record_unfinished(job_id, ENRICHMENT_LOST, findings.images_missing)
    lost = [f"{n} {what}" for n, what in ((summaries, "summaries"), (images, "images")) if n]
    if lost:
        parts.append(f"{ENRICHMENT_LOST}: {', '.join(lost)}")
    off = findings.counters_off
    if off:
        counts = ", ".join(f"{outcome} {delta:+d}" for outcome, delta in sorted(off.items()))
        parts.append(f"counters_mismatch: page rows minus counted pages {counts}")
    for reason, lost_expansions in sorted(findings.expand_lost.items()):
        parts.append(f"{reason}: {lost_expansions} expansion(s) lost")
    return "; ".join(parts)
