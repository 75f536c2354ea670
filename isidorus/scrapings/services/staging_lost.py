"""A write batch whose staged object cannot be read (missing, truncated, undecodable).

The writer task retries it first (a store that was briefly down). If it is still
unreadable, its URLs are scraped again, once per item: the new scrape stages a new
object. An item that loses its staged batch a second time is recorded as failed with the
reason `staging_lost` (an expand item, which has no row of its own, is counted and
closed), so the job ends COMPLETED_WITH_ERRORS instead of completing without the pages.
"""

from __future__ import annotations

import logging
from typing import Any

from isidorus import job_state
from isidorus.contracts import PageEntry
from isidorus.integrations import job_table
from isidorus.scrapings.jobs import job_config, job_is_stopped
from isidorus.scrapings.services.discover import Discovery, dispatch
from isidorus.scrapings.services.failed_pages import pages_record_failed
from isidorus.scrapings.services.finish import items_close

logger = logging.getLogger(__name__)
STAGING_LOST = "staging_lost"


def items_republish(job_id: str, entries: dict[str, dict[str, Any]], *, token: str) -> None:
    """Publish open `page:` and `expand:` items again (their claims released first), the
    pages through the job's pacing under `token` (job_state.pace)."""
    pages = [PageEntry.from_payload(p) for item, p in entries.items() if job_state.PAGE.holds(item)]
    expands = [
        PageEntry.from_payload(p) for item, p in entries.items() if job_state.EXPAND.holds(item)
    ]
    job_state.release_claims(job_id=job_id, items=list(entries))
    found = Discovery(to_fetch=pages, to_expand=expands)
    dispatch(job_id, found, token=token, stage_worker=False, expands_of_unwritten=True)


def staged_batch_lost(*, job_id: str, batch_id: str, items: list[str]) -> dict[str, int]:
    """Re-scrape the batch's still-open items once each; record the rest as lost."""
    if job_config(job_id) is None or job_is_stopped(job_id):
        return {}
    open_now = job_state.open_items(job_id)
    entries = {item: open_now[item] for item in items if item in open_now}
    again = {
        i: p for i, p in entries.items() if job_state.set_flag(job_id, job_state.Flag.RESCRAPED, i)
    }
    lost = {i: p for i, p in entries.items() if i not in again}
    logger.error(
        "staged batch %s of job %s is unreadable: %d item(s) scraped again, %d lost",
        batch_id, job_id, len(again), len(lost),
    )  # fmt: skip
    if again:
        items_republish(job_id, again, token=f"{batch_id}:rescrape")
    items_record_lost(job_id, batch_id, lost, STAGING_LOST)
    return {"rescraped": len(again), "lost": len(lost)}


def items_record_lost(
    job_id: str, batch_id: str, entries: dict[str, dict[str, Any]], reason: str
) -> None:
    """Close open items whose work is lost, each with a record: `page:` items as failed
    rows with `reason`; `expand:` items (no row of their own) in the `expand_<reason>`
    counter, which the audit names in the job's status reason."""
    pages = [PageEntry.from_payload(p) for item, p in entries.items() if job_state.PAGE.holds(item)]
    pages_record_failed(job_id=job_id, entries=pages, reason=reason)
    expands = [item for item in entries if job_state.EXPAND.holds(item)]
    if expands:
        job_table.job_item_add_counters_once(
            job_id, f"lost-{batch_id}"[:40], {f"expand_{reason}": len(expands)}
        )
        items_close(job_id, expands)
