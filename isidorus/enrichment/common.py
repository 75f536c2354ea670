"""What the summary and image services share: deadlines, retry decisions, leases, per-item
counters and the closing of items (DESIGN "Exact completion": close only after the row's
write committed, and whoever empties the open set finishes the job)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Field, Model

from isidorus import job_state
from isidorus.contracts import MAX_DELAY_SECONDS
from isidorus.integrations import job_table
from isidorus.scrapings.jobs import JobConfig, job_config, job_is_stopped
from isidorus.scrapings.services.finish import items_close

# Items not started this close to the deadline are handed to a new message instead.
MIN_CALL_SECONDS = 1.0


@dataclass(frozen=True)
class FollowUp:
    """Items to run again in a new message: a retry (attempt + 1) or a deferral (same attempt)."""

    ids: list[int]
    attempt: int
    delay_seconds: int


@dataclass
class EnrichmentReport:
    finished: list[int] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    dropped: int = 0
    remaining_open: int = -1


@dataclass(frozen=True)
class Retry:
    reason: str
    retry_after: float | None = None


@dataclass(frozen=True)
class Deferred:
    """Not done now (deadline near, or another worker holds the work): run again soon."""

    why: str


def update_rows(
    model: type[Model],
    per_row: Mapping[str, Mapping[int, object]],
    *,
    same: Mapping[str, object],
    unless_changed: Mapping[str, object],
) -> list[int]:
    """Write many rows in one UPDATE: column `c` of row `pk` gets `per_row[c][pk]`, every
    row gets the `same` values, and only rows whose `unless_changed` columns still hold
    those values are written (a row written meanwhile keeps what it has). Returns the
    primary keys of the rows written.

    The values travel as one array per column (unnest): Django's CASE WHEN per row cost
    more to build than the statement took to run (about 20 ms for 64 rows and 7 columns).
    """
    ids = sorted({pk for values in per_row.values() for pk in values})
    if not ids:
        return []
    table = connection.ops.quote_name(model._meta.db_table)
    pk_column, pk_type = _column(model, model._meta.pk.name)
    column = {name: _column(model, name)[0] for name in [*per_row, *same, *unless_changed]}
    arrays = [f"%s::{pk_type}[]", *(f"%s::{_column(model, name)[1]}[]" for name in per_row)]
    aliases = ["id", *(f"v{index}" for index in range(len(per_row)))]
    assignments = [f"{column[name]} = v.v{index}" for index, name in enumerate(per_row)]
    assignments += [f"{column[name]} = %s" for name in same]
    sql = (
        f"UPDATE {table} AS t SET {', '.join(assignments)} "
        f"FROM unnest({', '.join(arrays)}) AS v({', '.join(aliases)}) "
        f"WHERE t.{pk_column} = v.id"
        + "".join(f" AND t.{column[name]} = %s" for name in unless_changed)
        + f" RETURNING t.{pk_column}"
    )
    # In the order of the placeholders: SET, FROM, WHERE.
    params: list[Any] = [*same.values(), ids]
    params += [[values[pk] for pk in ids] for values in per_row.values()]
    params += unless_changed.values()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [pk for (pk,) in cursor.fetchall()]


def _column(model: type[Model], name: str) -> tuple[str, str]:
    """(quoted column name, SQL type) of a model field."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or not field.column:
        raise TypeError(f"{model.__name__}.{name} is not a column")
    return connection.ops.quote_name(field.column), str(field.db_type(connection))


def task_deadline() -> float:
    # Leave room after the calls for the writes, counters and closing before the soft limit.
    return time.monotonic() + max(1.0, settings.CELERY_TASK_SOFT_TIME_LIMIT * 0.7)


def remaining(deadline: float) -> float:
    return deadline - time.monotonic()


def retry_or_fail(attempt: int, reason: str, retry_after: float | None = None) -> Retry | None:
    """Retry while attempts remain (None: this was the last attempt)."""
    if attempt + 1 < settings.ENRICHMENT_MAX_ATTEMPTS:
        return Retry(reason, retry_after)
    return None


def retry_delay(attempt: int, retry_after: float | None) -> int:
    backoff = float(settings.ENRICHMENT_RETRY_BASE_SECONDS) * (2**attempt)
    delay: int = math.ceil(max(backoff, retry_after or 0.0))
    return min(MAX_DELAY_SECONDS, max(1, delay))


def follow_ups_for(
    attempt: int, retries: Mapping[int, Retry], deferred: list[int]
) -> list[FollowUp]:
    found: list[FollowUp] = []
    if retries:
        delay = max(retry_delay(attempt + 1, r.retry_after) for r in retries.values())
        found.append(FollowUp(sorted(retries), attempt + 1, delay))
    if deferred:
        found.append(FollowUp(sorted(deferred), attempt, 1))
    return found


def claim_ttl() -> int:
    return int(settings.CELERY_TASK_TIME_LIMIT) + 2


def lease_acquire(key: str, token: str) -> bool:
    """Hold `key` for this delivery (re-entrant for the same token; expires like a claim)."""
    return job_state.hold_key(key, token, claim_ttl())


def lease_release(key: str, token: str) -> None:
    job_state.release_key(key, token)


def add_items_counters(job_id: str, counters: Mapping[str, Mapping[str, int]]) -> None:
    """Add finished items' counters (by unit id) to the job's, each once per unit id
    (redelivery-safe), in one DynamoDB update per counter shard touched."""
    if counters:
        job_table.job_item_add_counters_many(job_id, counters)


def close_finished(job_id: str, items: list[str], report: EnrichmentReport) -> None:
    """Close items whose rows are committed, then finish the job if nothing is left open."""
    if not items:
        return
    # A duplicate that claims an item between the release and the close finds its row done.
    report.remaining_open = items_close(job_id, items, release_claims=True)


def release_follow_up_claims(job_id: str, items: list[str]) -> None:
    # The follow-up message has a new delivery token; the claims of this one must not block it.
    job_state.release_claims(job_id=job_id, items=items)


def claim_work(
    *,
    job_id: str,
    ids: list[int],
    item_of: Callable[[int], str],
    delivery_token: str,
    report: EnrichmentReport,
) -> tuple[JobConfig, list[int]] | None:
    """The job and the ids this delivery may work on, or None (job gone, or all claimed)."""
    job = job_config(job_id)
    if job is None or job_is_stopped(job_id):
        report.dropped = len(ids)
        return None
    items = {item_of(unit_id): unit_id for unit_id in ids}
    claimed = job_state.claim(
        job_id=job_id, items=list(items), token=delivery_token, ttl=claim_ttl()
    )
    mine = [items[item] for item in claimed]
    report.dropped = len(ids) - len(mine)
    return (job, mine) if mine else None
