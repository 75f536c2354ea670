"""The writer stage: idempotent bulk upserts to PostgreSQL, then close the batch's items.

1. In one transaction: record the batch (unique per job), upsert its pages keyed by
   (scraping, url hash) with ON CONFLICT DO NOTHING RETURNING, and insert terms, links
   and images only for pages really inserted. A redelivered batch inserts nothing.
2. Add the batch's counts to the DynamoDB job item once (conditional on the batch id).
3. Close the items in Redis; whoever empties the open set finishes the job.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction

from isidorus.integrations import job_table
from isidorus.scrapings import job_state
from isidorus.scrapings.jobs import JobConfig, job_config, job_is_stopped
from isidorus.scrapings.models import Image, Link, PageTerm, Scraping, WriteBatch
from isidorus.scrapings.services.enrichment_dispatch import (
    enrichment_for_batch,
    publish_enrichment,
)
from isidorus.scrapings.services.finish import job_finish_if_done
from isidorus.scrapings.staging import stage_delete, stage_get

logger = logging.getLogger(__name__)

PAGE_COLUMNS = (
    "scraping_id", "url", "url_hash", "final_url", "status_code", "content_type", "title",
    "depth", "parent_url", "bytes", "fetched_at", "outcome", "reason", "text",
)  # fmt: skip


def _clean(text: str | None) -> str:
    # PostgreSQL text cannot hold NUL characters, which hostile pages do contain.
    return text.replace("\x00", "") if text else ""


@dataclass
class WriteReport:
    inserted_pages: int = 0
    remaining_open: int = -1
    dropped: bool = False


def _insert_pages(job_id: str, pages: list[dict[str, Any]]) -> dict[str, int]:
    """Upsert page rows; returns {url hash: page id} of the rows this call inserted."""
    unique = list({page["fp"]: page for page in reversed(pages)}.values())
    if not unique:
        return {}
    row_sql = "(" + ", ".join(["%s"] * len(PAGE_COLUMNS)) + ")"
    params: list[Any] = []
    for page in unique:
        params += [
            job_id, _clean(page["url"]), page["fp"], _clean(page["final_url"]),
            page["status_code"], _clean(page["content_type"]), _clean(page["title"]),
            page["depth"], _clean(page["parent_url"]), page["bytes"], page["fetched_at"],
            page["outcome"], page["reason"] or "", _clean(page["text"]),
        ]  # fmt: skip
    sql = (
        f"INSERT INTO scrapings_page ({', '.join(PAGE_COLUMNS)}) "
        f"VALUES {', '.join([row_sql] * len(unique))} "
        "ON CONFLICT (scraping_id, url_hash) DO NOTHING RETURNING url_hash, id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {str(url_hash): int(page_id) for url_hash, page_id in cursor.fetchall()}


def _insert_children(
    job_id: str, pages: list[dict[str, Any]], inserted: dict[str, int]
) -> tuple[Counter[str], list[int]]:
    counts: Counter[str] = Counter()
    terms: list[PageTerm] = []
    links: list[Link] = []
    images: list[Image] = []
    for page in pages:
        page_id = inserted.get(page["fp"])
        if page_id is None:
            continue
        terms += [
            PageTerm(scraping_id=job_id, page_id=page_id, term=_clean(term)[:100], count=count)
            for term, count in page["terms"].items()
        ]
        links += [
            Link(
                scraping_id=job_id,
                page_id=page_id,
                target_url=_clean(url),
                internal=internal,
                nofollow=nofollow,
            )
            for url, internal, nofollow in page["links"]
        ]
        images += [
            Image(
                scraping_id=job_id,
                page_id=page_id,
                url=_clean(url),
                alt=_clean(alt),
                title=_clean(title),
                caption=_clean(caption),
            )
            for url, alt, title, caption in page["images"]
        ]
    PageTerm.objects.bulk_create(terms, batch_size=2000, ignore_conflicts=True)
    Link.objects.bulk_create(links, batch_size=2000)
    Image.objects.bulk_create(images, batch_size=2000)
    counts["links"] = len(links)
    counts["images"] = len(images)
    return counts, [image.pk for image in images]


def _batch_counts(
    pages: list[dict[str, Any]], inserted: dict[str, int], duplicates: int
) -> Counter[str]:
    counts: Counter[str] = Counter()
    for page in pages:
        if page["fp"] not in inserted:
            continue
        outcome = page["outcome"]
        counts[f"pages_{outcome}"] += 1
        if outcome != "fetched" and page["reason"]:
            counts[f"{outcome}_{page['reason']}"] += 1
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
    """Insert the batch's rows once, in one transaction with its WriteBatch record."""
    with transaction.atomic():
        WriteBatch.objects.get_or_create(scraping_id=job.id, batch_id=batch_id)
        # The row lock makes a concurrent duplicate wait, then see the batch as done.
        batch = WriteBatch.objects.select_for_update().get(scraping_id=job.id, batch_id=batch_id)
        if batch.counts:
            return batch
        if payload is None:
            logger.error("batch %s of job %s has no staged data", batch_id, job.id)
            return batch
        pages = payload["pages"]
        inserted = _insert_pages(job.id, pages)
        counts = _batch_counts(pages, inserted, int(payload.get("duplicates", 0)))
        child_counts, image_ids = _insert_children(job.id, pages, inserted)
        counts.update(child_counts)
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


def write_batch(*, job_id: str, batch_id: str, key: str, items: list[str]) -> WriteReport:
    report = WriteReport()
    job = job_config(job_id)
    if job is None or job_is_stopped(job_id):
        report.dropped = True
        return report
    payload = stage_get(key)
    try:
        batch = _apply_batch(job, batch_id, payload, report)
    except IntegrityError:
        if Scraping.objects.filter(pk=job_id).exists():
            raise
        report.dropped = True  # the job was deleted while this batch was in flight
        return report
    counts = {name: value for name, value in batch.counts.items() if name != "empty"}
    job_table.job_item_add_counters_once(job_id, batch_id, counts)
    # Enrichment items open before this batch's items close (close last).
    publish_enrichment(job_id, batch_id, batch.enrichment)
    report.remaining_open = job_state.close(job_id=job_id, items=items)
    if report.remaining_open == 0:
        job_finish_if_done(job_id)
    if payload is not None:
        stage_delete(key)
    return report
