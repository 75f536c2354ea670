"""Issue 19: a committed write batch's effects (DynamoDB counters, enrichment, closing its
items) happen even when the writer dies between its steps, whatever other batch touches
the same items first; and no job completes with any of them outstanding.

Each fault is injected at the exact step (the step raises, as the writer's death would
leave it): between the batch's commit and its counters, between the counters and the
enrichment publication, between the publication and the close. Then another batch of the
same pages (a redelivered scrape, grouped differently) or the batch's own redelivery
runs, and the enrichment messages that were published are executed in-process.
Real PostgreSQL, Redis, SQS and S3 (LocalStack) and DynamoDB (moto).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from isidorus.integrations import job_table
from isidorus.scrapings.models import Page
from tests.enrichment.helpers import counters, status
from tests.support.batches import Crawl, WriterDied, assert_exact, inject, run_enrichment
from tests.support.site import FixtureSite

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("step", ["commit->counters", "counters->publish", "publish->close"])
def test_a_second_batch_of_the_same_pages_cannot_complete_the_job_without_the_firsts_effects(
    enriched: Any, images_site: FixtureSite, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    crawl = Crawl(images_site)
    calls = inject(monkeypatch, step)
    with pytest.raises(WriterDied):
        crawl.write(crawl.urls[:3])  # batch A commits its rows, then its writer dies
    assert calls
    assert Page.objects.filter(scraping_id=crawl.job_id).count() == 3
    # A redelivered scrape grouped the same pages differently: batch B (one page more),
    # which inserts only that page and closes every item.
    crawl.write(crawl.urls)
    assert status(crawl.job_id) == "RUNNING"  # A's enrichment is still to run
    assert run_enrichment(crawl.job_id) > 0
    assert_exact(crawl)


@pytest.mark.parametrize("step", ["commit->counters", "counters->publish", "publish->close"])
def test_the_batchs_own_redelivery_completes_its_effects(
    enriched: Any, images_site: FixtureSite, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    crawl = Crawl(images_site)
    inject(monkeypatch, step)
    with pytest.raises(WriterDied):
        crawl.write(crawl.urls, batch_id="a" * 24)
    crawl.write(crawl.urls, batch_id="a" * 24)  # SQS redelivers the same message
    run_enrichment(crawl.job_id)
    assert_exact(crawl)


def test_a_redelivery_after_the_job_finished_changes_nothing(
    enriched: Any, images_site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    crawl = Crawl(images_site)
    inject(monkeypatch, "commit->counters")
    with pytest.raises(WriterDied):
        crawl.write(crawl.urls, batch_id="a" * 24)
    crawl.write(crawl.urls, batch_id="b" * 24)  # the redelivered scrape's batch
    run_enrichment(crawl.job_id)
    assert_exact(crawl)
    before = counters(crawl.job_id)
    # Batch A's own message comes back after the job finished: dropped as late work.
    report = crawl.write(crawl.urls, batch_id="a" * 24)
    assert report.dropped
    assert run_enrichment(crawl.job_id) == 0
    assert counters(crawl.job_id) == before
    assert_exact(crawl)


def test_a_scrape_redelivered_while_its_first_write_is_half_done(
    enriched: Any, images_site: FixtureSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch A's writer is still between its commit and its counters (held there, alive)
    when the redelivered scrape's batch B closes every item: B's close must not finish
    the job, and A's steps, when they resume, are not counted twice."""
    crawl = Crawl(images_site)
    held: list[Callable[[], Any]] = []
    real = job_table.job_item_add_counters_once

    def hold_first(job_id: str, unit_id: str, counts: Any) -> bool:
        if not held:
            held.append(lambda: real(job_id, unit_id, counts))
            raise WriterDied("held")
        return real(job_id, unit_id, counts)

    monkeypatch.setattr(job_table, "job_item_add_counters_once", hold_first)
    with pytest.raises(WriterDied):
        crawl.write(crawl.urls, batch_id="a" * 24)
    crawl.write(crawl.urls, batch_id="b" * 24)
    held[0]()  # A's writer resumes its counter step: already applied, so not added again
    run_enrichment(crawl.job_id)
    assert_exact(crawl)
