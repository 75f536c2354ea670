"""A job's progress in two parts, pages and enrichment, each as done of admitted.

Done comes from the job item's counters (DynamoDB); still open from the job's open work
items (Redis), counted by kind. A terminal job holds nothing open, so Redis is not asked;
while Redis does not answer, `open` is None (unknown) rather than an error, so a status
page still loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from redis.exceptions import RedisError

from isidorus import job_state

# Enrichment counters that each close one summary or image item.
_ENRICHMENT_DONE = (
    "summaries", "summaries_failed", "images_stored", "images_failed", "images_skipped",
)  # fmt: skip
_PAGE_KINDS = (job_state.PAGE.name, job_state.EXPAND.name)
_ENRICHMENT_KINDS = (job_state.SUMMARY.name, job_state.IMAGE.name)


@dataclass(frozen=True)
class StageProgress:
    done: int
    open: int | None  # None: unknown (Redis did not answer)

    @property
    def admitted(self) -> int | None:
        return None if self.open is None else self.done + self.open


@dataclass(frozen=True)
class JobProgress:
    pages: StageProgress
    enrichment: StageProgress


def job_progress_of(
    job_id: str, *, pages_done: int, enrichment: Mapping[str, int], terminal: bool
) -> JobProgress:
    """`pages_done`: pages fetched, failed or skipped; `enrichment`: the item's counters."""
    enrichment_done = sum(enrichment.get(name, 0) for name in _ENRICHMENT_DONE)
    if terminal:
        return JobProgress(StageProgress(pages_done, 0), StageProgress(enrichment_done, 0))
    try:
        open_items = job_state.open_by_kind(job_id)
    except RedisError:
        return JobProgress(StageProgress(pages_done, None), StageProgress(enrichment_done, None))
    return JobProgress(
        StageProgress(pages_done, sum(open_items.get(kind, 0) for kind in _PAGE_KINDS)),
        StageProgress(enrichment_done, sum(open_items.get(kind, 0) for kind in _ENRICHMENT_KINDS)),
    )
