"""The writer stage: idempotent bulk upserts to PostgreSQL, then close the batch's items.

1. In one transaction: record the batch (unique per job), upsert its pages (with their
   terms as one jsonb value) keyed by (scraping, url hash) with ON CONFLICT DO NOTHING
   RETURNING (each page's links as one jsonb value on its row), then insert images and
   add to the job's term totals only for pages really inserted. A redelivered batch
   inserts and adds nothing.
2. Run its effects (services/batch_effects.py): add its counts to the DynamoDB job item
   once (conditional on the batch id) and publish its enrichment once.
3. Close the items in Redis; whoever empties the open set finishes the job.
A staged batch that cannot be read is never recorded as written (services/staging_lost.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from django.db import IntegrityError, connection, transaction

from isidorus.integrations.cpu_steps import cpu_step
from isidorus.scrapings.jobs import JobConfig, job_config, job_is_stopped
from isidorus.scrapings.models import MAX_LINKS_PER_PAGE, Scraping, WriteBatch
from isidorus.scrapings.services.batch_effects import batch_effects_apply
from isidorus.scrapings.services.enrichment_dispatch import enrichment_for_batch
from isidorus.scrapings.services.finish import items_close
from isidorus.scrapings.staging import StagedBatchUnreadable, stage_delete, stage_get
from isidorus.scrapings.webhooks.events import webhook_progress

logger = logging.getLogger(__name__)

PAGE_COLUMNS = (
    "scraping_id", "url", "url_hash", "final_url", "status_code", "content_type", "title",
    "depth", "parent_url", "bytes", "fetched_at", "outcome", "reason", "text",
    "content_markdown", "content_source", "full_text", "noindex", "nofollow", "canonical_url",
    "is_canonical", "has_external_links", "terms", "links",
)  # fmt: skip
_JSONB_COLUMNS = frozenset({"terms", "links"})
MAX_TERM_LENGTH = 100  # JobTerm.term
PAGE_ROWS_PER_STATEMENT = 1000  # x 24 parameters, under PostgreSQL's 65,535

# Term totals are upserted in one order by every writer, so two writers whose batches
# share terms wait for each other's row locks instead of deadlocking.
_ADD_JOB_TERMS = """
INSERT INTO scrapings_jobterm (scraping_id, term, total, pages)
SELECT %s::uuid, added.term, added.total, added.pages
FROM unnest(%s::text[], %s::bigint[], %s::integer[]) AS added (term, total, pages)
ORDER BY added.term
ON CONFLICT (scraping_id, term) DO UPDATE
SET total = scrapings_jobterm.total + EXCLUDED.total,
    pages = scrapings_jobterm.pages + EXCLUDED.pages
"""


@contextlib.contextmanager
def _bound_cursor() -> Iterator[psycopg.Cursor[Any]]:
    """A psycopg cursor on Django's connection that sends parameters apart from the SQL.

    Django's cursors inline parameters as quoted literals, which PostgreSQL then lexes
    again: about 1.5 MB of SQL for a 64-page batch. Errors still surface as Django's
    (the writer's retry logic catches those), and the statement joins Django's transaction.
    """
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        psycopg.Cursor(cursor.cursor.connection) as bound,
    ):
        yield bound


def _clean(text: str | None) -> str:
    # PostgreSQL text cannot hold NUL characters, which hostile pages do contain.
    return text.replace("\x00", "") if text else ""


def _stored_terms(terms: dict[str, int]) -> dict[str, int]:
    """Terms as stored: cut to the column's length (merging what the cut makes equal)."""
    # Tokens are runs of letters and digits (isidorus.crawling.terms): never a NUL.
    if max(map(len, terms), default=0) <= MAX_TERM_LENGTH:
        return terms
    stored: Counter[str] = Counter()
    for term, count in terms.items():
        stored[_clean(term)[:MAX_TERM_LENGTH]] += count
    stored.pop("", None)
    return dict(stored)


@dataclass
class WriteReport:
    inserted_pages: int = 0
    remaining_open: int = -1
    dropped: bool = False


def _stored_links(links: list[list[Any]]) -> bytes:
    """A page's [[target url, internal, nofollow], ...] as its jsonb text."""
    stored = orjson.dumps(links)
    # jsonb refuses \u0000, which hostile pages put in hrefs; rarely there, so looked for.
    if b"\\u0000" in stored:
        stored = orjson.dumps(
            [[_clean(url), internal, nofollow] for url, internal, nofollow in links]
        )
    return stored


def _unique_pages(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per URL (the last one wins), each with its terms as stored."""
    unique = {page["fp"]: page for page in pages}
    return [{**page, "terms": _stored_terms(page["terms"])} for page in unique.values()]


def _insert_pages(job_id: str, pages: list[dict[str, Any]]) -> dict[str, int]:
    """Upsert page rows; returns {url hash: page id} of the rows this call inserted."""
    inserted: dict[str, int] = {}
    with _bound_cursor() as cursor:
        # A statement binds at most 65,535 parameters, and a batch can carry thousands of
        # skipped-page records (a page with 10,000 links past max_pages).
        for start in range(0, len(pages), PAGE_ROWS_PER_STATEMENT):
            chunk = pages[start : start + PAGE_ROWS_PER_STATEMENT]
            cursor.execute(_insert_pages_sql(len(chunk)), _page_params(job_id, chunk))
            inserted.update((str(url_hash), int(page_id)) for url_hash, page_id in cursor)
    return inserted


def _insert_pages_sql(rows: int) -> str:
    # terms and links go as JSON text (orjson: about 10x json's speed) cast to jsonb.
    placeholders = ("%s::jsonb" if name in _JSONB_COLUMNS else "%s" for name in PAGE_COLUMNS)
    row_sql = "(" + ", ".join(placeholders) + ")"
    return (
        f"INSERT INTO scrapings_page ({', '.join(PAGE_COLUMNS)}) "
        f"VALUES {', '.join([row_sql] * rows)} "
        "ON CONFLICT (scraping_id, url_hash) DO NOTHING RETURNING url_hash, id"
    )


def _page_params(job_id: str, pages: list[dict[str, Any]]) -> list[Any]:
    params: list[Any] = []
    for page in pages:
        links = page["links"][:MAX_LINKS_PER_PAGE]
        params += [
            job_id, _clean(page["url"]), page["fp"], _clean(page["final_url"]),
            page["status_code"], _clean(page["content_type"]), _clean(page["title"]),
            page["depth"], _clean(page["parent_url"]), page["bytes"], page["fetched_at"],
            page["outcome"], page["reason"] or "", _clean(page["text"]),
            # .get: a batch staged before these keys existed is still written.
            _clean(page.get("markdown", "")), page.get("source", ""),
            _clean(page.get("full_text", "")), page.get("noindex", False),
            page.get("nofollow", False), _clean(page.get("canonical_url", "")),
            page.get("is_canonical", True),
            any(not internal for _, internal, _ in links),
            orjson.dumps(page["terms"]).decode(), _stored_links(links).decode(),
        ]  # fmt: skip
    return params


def _insert_images(job_id: str, pages: list[dict[str, Any]], inserted: dict[str, int]) -> list[int]:
    """Insert the image references of the inserted pages; returns their ids, in order."""
    rows = [
        (job_id, inserted[page["fp"]], _clean(url), _clean(alt), _clean(title), _clean(caption))
        for page in pages
        for url, alt, title, caption in page["images"]
    ]
    if not rows:
        return []
    # Plain SQL: Django model objects cost more than the insert itself at ~10 a page.
    # The enrichment columns keep their defaults ("", NULL, 0, false) until it runs.
    sql = (
        "INSERT INTO scrapings_image (scraping_id, page_id, url, alt, title, caption, outcome, "
        "reason, sha256, s3_key, content_type, format, description, description_model, "
        "described_by_llm, input_tokens, output_tokens) "
        "SELECT %s::uuid, page_id, url, alt, title, caption, '', '', '', '', '', '', '', '', "
        "false, 0, 0 FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[]) "
        "WITH ORDINALITY AS image (page_id, url, alt, title, caption, position) "
        "ORDER BY position RETURNING id"
    )
    columns = list(zip(*rows, strict=True))
    with _bound_cursor() as cursor:
        cursor.execute(sql, [job_id, *[list(column) for column in columns[1:]]])
        return [int(image_id) for (image_id,) in cursor.fetchall()]


def job_terms_add(job_id: str, page_terms: list[dict[str, int]]) -> None:
    """Add pages' {term: count} maps (terms as stored) to the job's JobTerm totals."""
    totals: Counter[str] = Counter()
    containing: Counter[str] = Counter()
    for terms in page_terms:
        totals.update(terms)
        containing.update(terms.keys())
    if not totals:
        return
    names = list(totals)
    with _bound_cursor() as cursor:
        cursor.execute(
            _ADD_JOB_TERMS,
            [job_id, names, [totals[t] for t in names], [containing[t] for t in names]],
        )


def _expand_duplicates_once(job_id: str, duplicates_of: dict[str, int]) -> int:
    """The duplicate links of the expand items `duplicates_of` names that no written batch
    counted yet; records them as counted (in the batch's transaction)."""
    if not duplicates_of:
        return 0
    items = list(duplicates_of)
    with _bound_cursor() as cursor:
        cursor.execute(
            "INSERT INTO scrapings_expandcounted (scraping_id, item) "
            "SELECT %s, unnest(%s::text[]) ON CONFLICT DO NOTHING RETURNING item",
            [job_id, items],
        )
        return sum(duplicates_of[item] for (item,) in cursor.fetchall())


def _batch_counts(
    pages: list[dict[str, Any]], inserted: dict[str, int], duplicates: int
) -> Counter[str]:
    """The counters of the pages this batch inserted. A page's duplicate links count with
    its row, so a page scraped again after a crash counts them once; `duplicates` are the
    batch's own (its expand items', each counted once)."""
    counts: Counter[str] = Counter()
    for page in pages:
        if page["fp"] not in inserted:
            continue
        outcome = page["outcome"]
        counts[f"pages_{outcome}"] += 1
        if outcome != "fetched" and page["reason"]:
            counts[f"{outcome}_{page['reason']}"] += 1
        counts["skipped_duplicate"] += int(page.get("dup", 0))
    counts["skipped_duplicate"] += duplicates
    return counts


def _summarizable(pages: list[dict[str, Any]], inserted: dict[str, int]) -> list[int]:
    return [
        inserted[page["fp"]]
        for page in pages
        if page["fp"] in inserted and page["outcome"] == "fetched" and page["text"]
    ]


def _apply_batch(
    job: JobConfig, batch_id: str, payload: dict[str, Any] | None, report: WriteReport
) -> WriteBatch:
    """Insert the batch's rows once, in one transaction with its WriteBatch record.

    `payload` is None only for a batch already written (its staged object is deleted).
    """
    with transaction.atomic():
        WriteBatch.objects.get_or_create(scraping_id=job.id, batch_id=batch_id)
        # The row lock makes a concurrent duplicate wait, then see the batch as done.
        batch = WriteBatch.objects.select_for_update().get(scraping_id=job.id, batch_id=batch_id)
        if batch.counts:
            return batch
        if payload is None:
            # Rolls back the empty record: an unread batch never counts as written.
            raise StagedBatchUnreadable(batch_id, "missing, and the batch was never written")
        pages = _unique_pages(payload["pages"])
        with cpu_step("writer: pages (rows, search vector)"):
            inserted = _insert_pages(job.id, pages)
        duplicates = int(payload.get("duplicates", 0))
        duplicates += _expand_duplicates_once(job.id, payload.get("duplicates_of", {}))
        counts = _batch_counts(pages, inserted, duplicates)
        mine = [page for page in pages if page["fp"] in inserted]
        counts["links"] = sum(min(len(page["links"]), MAX_LINKS_PER_PAGE) for page in mine)
        with cpu_step("writer: images"):
            image_ids = _insert_images(job.id, mine, inserted)
        counts["images"] = len(image_ids)
        # Last, so the shared term rows stay locked for as short a time as possible. A
        # noindex page keeps its own terms but adds none to the job's totals.
        with cpu_step("writer: job terms"):
            job_terms_add(job.id, [page["terms"] for page in mine if not page.get("noindex")])
        batch.counts = {name: value for name, value in counts.items() if value} or {"empty": 0}
        batch.enrichment = enrichment_for_batch(
            summarize=job.summarize,
            describe_images=job.describe_images,
            page_ids=_summarizable(pages, inserted),
            image_ids=image_ids,
        )
        batch.save(update_fields=["counts", "enrichment"])
        report.inserted_pages = len(inserted)
        return batch


def _batch_written(job_id: str, batch_id: str) -> bool:
    written = WriteBatch.objects.filter(scraping_id=job_id, batch_id=batch_id).exclude(counts={})
    return written.exists()


def write_records(
    *, job_id: str, batch_id: str, payload: dict[str, Any] | None, items: list[str]
) -> WriteReport:
    """Write a batch's records, run its effects, then close its items (close last)."""
    report = WriteReport()
    job = job_config(job_id)
    if job is None or job_is_stopped(job_id):
        report.dropped = True
        return report
    try:
        batch = _apply_batch(job, batch_id, payload, report)
    except IntegrityError:
        if Scraping.objects.filter(pk=job_id).exists():
            raise
        report.dropped = True  # the job was deleted while this batch was in flight
        return report
    with cpu_step("writer: counters, enrichment hand-off, close (DynamoDB, SQS, Redis)"):
        batch_effects_apply(job_id, batch)
        report.remaining_open = items_close(job_id, items)
    return report


def write_batch(*, job_id: str, batch_id: str, key: str, items: list[str]) -> WriteReport:
    """Write a staged batch. Raises StagedBatchUnreadable if it cannot be read and was
    never written (the task retries, then hands it to `staged_batch_lost`)."""
    if job_config(job_id) is None or job_is_stopped(job_id):
        stage_delete(key)  # late work of a stopped or deleted job: nothing will read it
        return WriteReport(dropped=True)
    try:
        with cpu_step("writer: read the staged batch (S3 get, decompress, decode)"):
            payload: dict[str, Any] | None = stage_get(key)
    except StagedBatchUnreadable:
        if not _batch_written(job_id, batch_id):
            raise
        payload = None  # a redelivery after the write deleted the staged object
    report = write_records(job_id=job_id, batch_id=batch_id, payload=payload, items=items)
    if payload is not None and not report.dropped:
        stage_delete(key)
        webhook_progress(job_id)
    return report
