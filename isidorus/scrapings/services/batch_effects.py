"""The effects of a committed write batch: its DynamoDB counters and its enrichment.

Both steps are idempotent and keyed by the batch that owns the rows (the counters by a
conditional write on the batch id, the enrichment by a per-batch flag), so whoever finds
them outstanding may run them: the batch's own writer, its redelivery, or the finisher,
which runs every outstanding batch's effects before a job may complete. That closes the
path of issue 19: a writer dies after its commit, a redelivered scrape of the same pages
makes a second batch that inserts nothing and closes the pages' items, and the job would
otherwise complete without the first batch's counters and enrichment.
"""

from __future__ import annotations

from isidorus.integrations import job_table
from isidorus.scrapings.models import WriteBatch
from isidorus.scrapings.services.enrichment_dispatch import publish_enrichment


def batch_effects_apply(job_id: str, batch: WriteBatch) -> None:
    """Add the batch's counters (once) and publish its enrichment (once), then mark it."""
    if batch.effects_done:
        return
    counts = {name: value for name, value in batch.counts.items() if name != "empty"}
    job_table.job_item_add_counters_once(job_id, batch.batch_id, counts)
    # Enrichment items open here, before the batch's own items close.
    publish_enrichment(job_id, batch.batch_id, batch.enrichment)
    WriteBatch.objects.filter(pk=batch.pk, effects_done=False).update(effects_done=True)
    batch.effects_done = True


def batch_effects_outstanding_apply(job_id: str) -> int:
    """Run the effects of every committed batch of the job that has not had them yet.

    Returns how many batches that was. Only committed batches with counts are seen: a
    batch whose transaction is still open has its items open too, so the job is not
    finishing yet.
    """
    pending = list(
        WriteBatch.objects.filter(scraping_id=job_id, effects_done=False).exclude(counts={})
    )
    for batch in pending:
        batch_effects_apply(job_id, batch)
    return len(pending)
