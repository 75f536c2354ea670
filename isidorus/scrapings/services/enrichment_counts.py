"""Finished enrichment rows (image rows, page summaries) counted in the job's DynamoDB
counters exactly once each, however often their messages are delivered.

Counter layout 3 (jobs created since): the rows a delivery finished are counted as one
unit. In one PostgreSQL transaction each row not counted yet is recorded as counted by
a new unit (`EnrichmentCounted`, keyed by the row, so a row joins one unit at most) and
the unit keeps its rows' counters' sum (`EnrichmentUnit`). Then every unit that counted
one of the rows (this delivery's, and those of an earlier delivery that died before or
after its DynamoDB update) is added with one conditional UpdateItem keyed by the unit's
id: an update that already happened is refused. A message of 64 rows costs one update on
a shard that records one id for it, instead of 64 ids (about 30 ms of the DynamoDB
emulator's CPU per update when shards held thousands of row ids).

Older jobs (layout 1 and 2) keep one unit per row (`img-<id>`, `sum-<id>`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from django.db import IntegrityError, connection, transaction

from isidorus.integrations import job_table
from isidorus.integrations.job_counters import counters_summed
from isidorus.job_state.budget import EXHAUSTED
from isidorus.scrapings.models import EnrichmentCounted, EnrichmentUnit, Image, Page

IMAGE, SUMMARY = "img", "sum"
UNIT_LAYOUT = 3
STORED, FAILED, SKIPPED = "stored", "failed", "skipped"


def image_counters(outcome: str, reason: str, tokens_in: int, tokens_out: int) -> dict[str, int]:
    counters = {"image_tokens_in": tokens_in, "image_tokens_out": tokens_out}
    if outcome == STORED:
        counters["images_stored"] = 1
        if reason == EXHAUSTED:
            counters["enrichment_token_budget_exhausted"] = 1
        elif reason:
            counters["image_descriptions_failed"] = 1
            counters[f"image_descriptions_failed_{reason.removeprefix('describe_')}"] = 1
    elif outcome in (FAILED, SKIPPED):
        counters[f"images_{outcome}"] = 1
        counters[f"images_{outcome}_{reason or 'unknown'}"] = 1
    return counters


def summary_counters(summary: str, error: str, tokens_in: int, tokens_out: int) -> dict[str, int]:
    counters = {"summary_tokens_in": tokens_in, "summary_tokens_out": tokens_out}
    if summary:
        counters["summaries"] = 1
    elif error == EXHAUSTED:
        counters["enrichment_token_budget_exhausted"] = 1
    elif error:
        counters["summaries_failed"] = 1
        counters[f"summaries_failed_{error}"] = 1
    return counters


def _image_rows(ids: list[int]) -> dict[int, dict[str, int]]:
    rows = Image.objects.filter(pk__in=ids).values_list(
        "pk", "outcome", "reason", "input_tokens", "output_tokens"
    )
    return {
        pk: image_counters(outcome, reason, tokens_in, tokens_out)
        for pk, outcome, reason, tokens_in, tokens_out in rows
    }


def _summary_rows(ids: list[int]) -> dict[int, dict[str, int]]:
    rows = Page.objects.filter(pk__in=ids).values_list(
        "pk", "summary", "summary_error", "summary_input_tokens", "summary_output_tokens"
    )
    return {
        pk: summary_counters(summary, error, tokens_in, tokens_out)
        for pk, summary, error, tokens_in, tokens_out in rows
    }


_ROWS: dict[str, Callable[[list[int]], dict[int, dict[str, int]]]] = {
    IMAGE: _image_rows,
    SUMMARY: _summary_rows,
}


def count_finished(job_id: str, kind: str, row_ids: Iterable[int]) -> None:
    """Add the counters of finished rows (their final state, read here) to the job's,
    each row once. Rows deleted meanwhile (with their job) count nothing."""
    ids = sorted(set(row_ids))
    if not ids:
        return
    if (job_table.job_counter_layout(job_id) or 0) < UNIT_LAYOUT:
        counters = _ROWS[kind](ids)
        job_table.job_item_add_counters_many(
            job_id, {f"{kind}-{pk}": counted for pk, counted in counters.items()}
        )
        return
    try:
        units = _record_units(job_id, kind, ids)
    except IntegrityError:
        return  # the job was deleted meanwhile: nothing left to count
    job_table.job_item_add_counters_many(job_id, units)


def _record_units(job_id: str, kind: str, ids: list[int]) -> dict[str, dict[str, int]]:
    """Record the rows not counted yet as a new unit; return every unit of the rows."""
    unit_id = f"enr-{uuid.uuid4().hex}"
    keys = [f"{kind}-{pk}" for pk in ids]
    with transaction.atomic():
        rows = _ROWS[kind](ids)
        wanted = [f"{kind}-{pk}" for pk in rows]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {EnrichmentCounted._meta.db_table} (key, scraping_id, unit) "
                "SELECT key, %s, %s FROM unnest(%s::text[]) AS key "
                "ON CONFLICT (key) DO NOTHING RETURNING key",
                [job_id, unit_id, wanted],
            )
            added = [int(str(key).split("-", 1)[1]) for (key,) in cursor.fetchall()]
        if added:
            EnrichmentUnit.objects.create(
                id=unit_id, scraping_id=job_id, counters=counters_summed(rows[pk] for pk in added)
            )
        unit_ids = set(
            EnrichmentCounted.objects.filter(key__in=keys).values_list("unit", flat=True)
        )
        return {
            unit.id: {name: int(value) for name, value in unit.counters.items()}
            for unit in EnrichmentUnit.objects.filter(id__in=unit_ids)
        }
