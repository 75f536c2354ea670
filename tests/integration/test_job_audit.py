"""The audit before a job's terminal status (issue 19), and the paths that close items
without doing their work (a lost staged batch, the reaper, a cancel): each leaves an
outcome on the rows. Service level, on the real stores."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from config.queues import IMAGE_EXTRACTOR, PAGE_SUMMARIZER, SCRAPER
from isidorus import job_state
from isidorus.integrations import job_table
from isidorus.integrations.aws import s3_client
from isidorus.maintenance import reap_stalled_jobs
from isidorus.scrapings.models import Image, Page, Scraping, WriteBatch
from isidorus.scrapings.services.finish import job_finish_if_done
from isidorus.scrapings.services.lifecycle import scraping_cancel
from isidorus.scrapings.services.staging_lost import staged_batch_lost
from isidorus.scrapings.services.write import write_batch
from isidorus.scrapings.staging import StagedBatchUnreadable, stage_put, staging_key
from tests.enrichment.helpers import counters, status
from tests.support.batches import PAGES, Crawl, assert_exact, run_enrichment, take
from tests.support.site import FixtureSite

pytestmark = pytest.mark.django_db(transaction=True)


def _lose_summary_item(crawl: Crawl) -> int:
    """Close one page's summary item without summarising it: the shape of a lost message."""
    page_id = Page.objects.filter(scraping_id=crawl.job_id).order_by("id").first().pk
    job_state.close(job_id=crawl.job_id, items=[job_state.summary_item(page_id)])
    return int(page_id)


def test_enrichment_lost_once_is_published_again_and_the_job_is_exact(
    enriched: Any,
    images_site: FixtureSite,
) -> None:
    crawl = Crawl(images_site)
    crawl.write(crawl.urls)
    _lose_summary_item(crawl)
    run_enrichment(crawl.job_id)  # the last close runs the audit, which repairs
    assert job_state.get_flag(crawl.job_id, job_state.Flag.AUDIT_REPAIRED)
    run_enrichment(crawl.job_id)
    assert_exact(crawl)


def test_enrichment_lost_twice_ends_the_job_with_errors_that_name_it(
    enriched: Any,
    images_site: FixtureSite,
) -> None:
    crawl = Crawl(images_site)
    crawl.write(crawl.urls)
    lost = _lose_summary_item(crawl)
    run_enrichment(crawl.job_id, rounds=1)  # the last close audits and publishes a repair
    assert take(PAGE_SUMMARIZER)  # the repair's message is lost as well
    job_state.close(job_id=crawl.job_id, items=[job_state.summary_item(lost)])
    job_finish_if_done(crawl.job_id)
    job = Scraping.objects.get(pk=crawl.job_id)
    assert (job.status, job.status_reason) == (
        "COMPLETED_WITH_ERRORS",
        "enrichment_lost: 1 summaries; enrichment failed for 0 image(s) and 1 summary(ies)",
    )
    assert Page.objects.get(pk=lost).summary_error == "enrichment_lost"
    found = counters(crawl.job_id)
    assert (found["summaries"], found["summaries_failed_enrichment_lost"]) == (PAGES - 1, 1)


def test_counters_missing_from_dynamodb_are_added_again_by_owning_batch(
    enriched: Any,
    images_site: FixtureSite,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crawl = Crawl(images_site)
    real = job_table.job_item_add_counters_once
    monkeypatch.setattr(job_table, "job_item_add_counters_once", lambda *args: False)
    crawl.write(crawl.urls)  # its counter write "succeeds" without counting
    monkeypatch.setattr(job_table, "job_item_add_counters_once", real)
    assert WriteBatch.objects.get(scraping_id=crawl.job_id).effects_done
    run_enrichment(crawl.job_id)
    assert_exact(crawl)


def _stage_and_lose(crawl: Crawl, batch_id: str, how: str) -> str:
    key = staging_key(crawl.job_id, batch_id)
    stage_put(crawl.job_id, key, {"pages": [crawl.records[u] for u in crawl.urls]})
    if how == "deleted":
        s3_client().delete_object(Bucket=settings.S3_BUCKET, Key=key)
    else:
        s3_client().put_object(Bucket=settings.S3_BUCKET, Key=key, Body=b"\x28\xb5\x2f\xfd trunc")
    return key


@pytest.mark.parametrize("how", ["deleted", "corrupted"])
def test_an_unreadable_staged_batch_is_scraped_again_then_recorded_as_lost(
    enriched: Any,
    images_site: FixtureSite,
    how: str,
) -> None:
    crawl = Crawl(images_site)
    items = [crawl.items[u] for u in crawl.urls]
    key = _stage_and_lose(crawl, "c" * 24, how)
    with pytest.raises(StagedBatchUnreadable):
        write_batch(job_id=crawl.job_id, batch_id="c" * 24, key=key, items=items)
    assert not WriteBatch.objects.filter(scraping_id=crawl.job_id).exists()
    assert job_state.open_count(crawl.job_id) == PAGES  # never counted as written
    take(SCRAPER)
    assert staged_batch_lost(job_id=crawl.job_id, batch_id="c" * 24, items=items) == {
        "rescraped": PAGES,
        "lost": 0,
    }
    rescrapes = take(SCRAPER)
    assert sorted(e["u"] for _, body in rescrapes for e in body["items"]) == sorted(crawl.urls)
    # The re-scrape's batch is lost as well: now the pages are recorded as failed.
    assert staged_batch_lost(job_id=crawl.job_id, batch_id="c" * 24, items=items) == {
        "rescraped": 0,
        "lost": PAGES,
    }
    rows = Page.objects.filter(scraping_id=crawl.job_id)
    assert set(rows.values_list("outcome", "reason")) == {("failed", "staging_lost")}
    job = Scraping.objects.get(pk=crawl.job_id)
    assert (job.status, job.status_reason) == ("COMPLETED_WITH_ERRORS", f"{PAGES} page(s) failed")
    assert counters(crawl.job_id)["pages_failed"] == PAGES


def test_the_reaper_that_fails_a_job_records_its_unfinished_enrichment(
    enriched: Any,
    images_site: FixtureSite,
) -> None:
    crawl = Crawl(images_site)
    Scraping.objects.filter(pk=crawl.job_id).update(status="RUNNING")
    crawl.write(crawl.urls)
    take(PAGE_SUMMARIZER)
    take(IMAGE_EXTRACTOR)  # the enrichment workers are gone
    assert reap_stalled_jobs(stall_seconds=0)[crawl.job_id] == "republished"
    assert reap_stalled_jobs(stall_seconds=0)[crawl.job_id] == "failed"
    assert status(crawl.job_id) == "FAILED"
    pages = Page.objects.filter(scraping_id=crawl.job_id)
    assert set(pages.values_list("summary_error", flat=True)) == {"stalled"}
    images = Image.objects.filter(scraping_id=crawl.job_id)
    assert set(images.values_list("outcome", "reason")) == {("failed", "stalled")}


def test_a_cancel_records_the_enrichment_it_stopped(
    enriched: Any,
    images_site: FixtureSite,
) -> None:
    crawl = Crawl(images_site)
    crawl.write(crawl.urls)
    scraping_cancel(job=Scraping.objects.get(pk=crawl.job_id))
    pages = Page.objects.filter(scraping_id=crawl.job_id)
    assert set(pages.values_list("summary_error", flat=True)) == {"cancelled"}
    images = Image.objects.filter(scraping_id=crawl.job_id)
    assert set(images.values_list("outcome", "reason")) == {("failed", "cancelled")}
    assert run_enrichment(crawl.job_id) >= 0
    assert status(crawl.job_id) == "CANCELLED"
