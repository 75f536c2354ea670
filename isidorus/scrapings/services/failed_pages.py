"""Pages whose work cannot be done are written as failed rows with a reason, so the item
that closes them leaves a record (and the job ends COMPLETED_WITH_ERRORS, not short)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from isidorus import job_state
from isidorus.contracts import PageEntry
from isidorus.crawling.urls import url_fingerprint
from isidorus.scrapings.services.discover import skipped_record
from isidorus.scrapings.services.write import WriteReport, write_records


def failed_record(entry: PageEntry, reason: str) -> dict[str, Any]:
    record = skipped_record(entry, reason)
    record["outcome"] = "failed"
    return record


def pages_record_failed(
    *, job_id: str, entries: list[PageEntry], reason: str
) -> WriteReport | None:
    """Write the entries (open `page:` item payloads) as failed and close their items.

    The batch id derives from the items, so a repeat of the same call writes nothing twice.
    The rows go straight to PostgreSQL: this is also the path for a lost staged batch.
    """
    if not entries:
        return None
    items = sorted(job_state.page_item(url_fingerprint(entry.url)) for entry in entries)
    digest = hashlib.sha1(json.dumps(items).encode()).hexdigest()[:24]
    payload = {"pages": [failed_record(entry, reason) for entry in entries], "duplicates": 0}
    return write_records(
        job_id=job_id, batch_id=f"{reason}-{digest}"[:40], payload=payload, items=items
    )
