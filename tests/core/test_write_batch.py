"""write_batch on redelivery, on pages that two batches share, and for stopped jobs: rows
are inserted once, counters added once, and a stopped job's batch changes nothing.

Complements tests/integration/test_write_effects.py (a writer dying between its steps)
and test_job_audit.py (a staged batch lost before it was written). Real PostgreSQL,
Redis, S3 (LocalStack) and DynamoDB (moto); no workers: write_batch is called directly.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from isidorus import job_state
from isidorus.contracts import PageEntry
from isidorus.integrations.aws import s3_client
from isidorus.scrapings.jobs import job_config
from isidorus.scrapings.models import JobTerm, Link, Page, Scraping, WriteBatch
from isidorus.scrapings.services import write as write_module
from isidorus.scrapings.services.discover import skipped_record
from isidorus.scrapings.services.lifecycle import scraping_cancel, scraping_delete
from isidorus.scrapings.services.write import WriteReport, write_batch
from isidorus.scrapings.staging import stage_put, staging_key
from tests.core.conftest import NewJob
from tests.enrichment.helpers import counters, status

pytestmark = pytest.mark.django_db

ORIGIN = "http://127.0.0.1:9"


def url(name: str) -> str:
    return f"{ORIGIN}/{name}.html"


def fingerprint(name: str) -> str:
    return hashlib.sha1(url(name).encode()).hexdigest()


def item(name: str) -> str:
    return job_state.page_item(fingerprint(name))


def page(name: str, *, title: str = "A page") -> dict[str, Any]:
    """A fetched page as the scraper stages it: one link, one term counted twice."""
    return {
        "url": url(name), "fp": fingerprint(name), "final_url": url(name),
        "status_code": 200, "content_type": "text/html", "title": title, "depth": 1,
        "parent_url": f"{ORIGIN}/", "bytes": 100, "fetched_at": datetime.now(UTC).isoformat(),
        "outcome": "fetched", "reason": "", "text": "lighthouse lighthouse",
        "terms": {"lighthouse": 2}, "links": [[f"{ORIGIN}/", True, False]], "images": [],
    }  # fmt: skip


def open_pages(job_id: str, *names: str) -> None:
    job_state.open_new(job_id, {item(n): {"u": url(n), "d": 1, "p": f"{ORIGIN}/"} for n in names})


def stage(job_id: str, batch_id: str, pages: list[dict[str, Any]], duplicates: int = 0) -> str:
    key = staging_key(job_id, batch_id)
    stage_put(job_id, key, {"pages": pages, "duplicates": duplicates})
    return key


def write(job_id: str, batch_id: str, key: str, items: list[str]) -> WriteReport:
    return write_batch(job_id=job_id, batch_id=batch_id, key=key, items=items)


def staged(key: str) -> bool:
    listed = s3_client().list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=key)
    return any(obj["Key"] == key for obj in listed.get("Contents", []))


def terms(job_id: str) -> dict[str, tuple[int, int]]:
    rows = JobTerm.objects.filter(scraping_id=job_id).values_list("term", "total", "pages")
    return {term: (total, pages) for term, total, pages in rows}


def test_a_batch_delivered_twice_inserts_its_rows_and_adds_its_counters_once(
    new_job: NewJob,
) -> None:
    job_id = new_job(f"{ORIGIN}/")
    open_pages(job_id, "a", "b", "c")
    key = stage(job_id, "b" * 24, [page("a"), page("b")])
    first = write(job_id, "b" * 24, key, [item("a"), item("b")])
    assert (first.inserted_pages, first.remaining_open, first.dropped) == (2, 1, False)
    assert not staged(key)  # deleted once written

    # SQS redelivers the same message: its staged object is gone, the batch is written.
    again = write(job_id, "b" * 24, key, [item("a"), item("b")])
    assert (again.inserted_pages, again.remaining_open, again.dropped) == (0, 1, False)
    assert Page.objects.filter(scraping_id=job_id).count() == 2
    assert Link.objects.filter(scraping_id=job_id).count() == 2
    assert WriteBatch.objects.filter(scraping_id=job_id).count() == 1
    found = counters(job_id)
    assert (found["pages_fetched"], found["links"]) == (2, 2)
    assert terms(job_id) == {"lighthouse": (4, 2)}
    assert set(job_state.open_items(job_id)) == {item("c")}


def test_a_pages_content_columns_are_written_and_an_older_record_without_them_is_too(
    new_job: NewJob,
) -> None:
    job_id = new_job(f"{ORIGIN}/")
    open_pages(job_id, "a", "b")
    content = {"markdown": "# Lighthouse\n\nlighthouse", "source": "main",
               "full_text": "Menu Lighthouse lighthouse"}  # fmt: skip
    key = stage(job_id, "c" * 24, [{**page("a"), **content}, page("b")])
    write(job_id, "c" * 24, key, [item("a"), item("b")])
    rows = Page.objects.filter(scraping_id=job_id).order_by("url")
    columns = ("content_markdown", "content_source", "full_text", "text")
    assert list(rows.values_list(*columns)) == [
        (
            "# Lighthouse\n\nlighthouse",
            "main",
            "Menu Lighthouse lighthouse",
            "lighthouse lighthouse",
        ),
        ("", "", "", "lighthouse lighthouse"),
    ]


def test_a_pages_large_values_are_compressed_with_lz4_and_its_search_vector_not_at_all(
    new_job: NewJob,
) -> None:
    """Migration 0023: pglz cost the database about 0.5 ms a page more than lz4. Migration
    0024: a search ranks on every matching page's vector, faster uncompressed."""
    job_id = new_job(f"{ORIGIN}/")
    open_pages(job_id, "a")
    # Text that compresses but is not one repeated word: pglz and lz4 both keep it compressed.
    text = " ".join(f"lighthouse{n % 97} keeper{n % 89}" for n in range(3000))
    big = {**page("a"), "text": text, "full_text": text,
           "markdown": text, "source": "main"}  # fmt: skip
    write(job_id, "e" * 24, stage(job_id, "e" * 24, [big]), [item("a")])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_compression(text), pg_column_compression(full_text), "
            "pg_column_compression(content_markdown), pg_column_compression(search_vector), "
            "pg_column_size(search_vector) > 8000 "
            "FROM scrapings_page WHERE scraping_id = %s",
            [job_id],
        )
        assert cursor.fetchall() == [("lz4", "lz4", "lz4", None, True)]
    assert Page.objects.get(scraping_id=job_id).text == text


def test_a_pages_links_are_stored_in_its_order_on_its_row_with_nul_characters_removed(
    new_job: NewJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = new_job(f"{ORIGIN}/")
    open_pages(job_id, "a", "b")
    links = [
        [f"{ORIGIN}/z", True, False], ["http://other.org/\x00x", False, True],
        [f"{ORIGIN}/a", True, True], [f"{ORIGIN}/past-the-limit", True, False],
    ]  # fmt: skip
    monkeypatch.setattr(write_module, "MAX_LINKS_PER_PAGE", 3)
    key = stage(job_id, "e" * 24, [{**page("a"), "links": links}, page("b")])
    write(job_id, "e" * 24, key, [item("a"), item("b")])

    stored = dict(Page.objects.filter(scraping_id=job_id).values_list("url", "links"))
    assert stored[url("a")] == [
        [f"{ORIGIN}/z", True, False], ["http://other.org/x", False, True],
        [f"{ORIGIN}/a", True, True],
    ]  # fmt: skip
    external = Page.objects.filter(scraping_id=job_id, has_external_links=True)
    assert list(external.values_list("url", flat=True)) == [url("a")]
    assert counters(job_id)["links"] == 4  # 3 of a's, 1 of b's
    rows = Link.objects.filter(scraping_id=job_id, page__url=url("a"))
    assert [(link.position, link.target_url) for link in rows] == [
        (0, f"{ORIGIN}/z"), (1, "http://other.org/x"), (2, f"{ORIGIN}/a"),
    ]  # fmt: skip


def test_a_scrape_redelivered_after_its_write_stages_the_batch_again_and_adds_nothing(
    new_job: NewJob,
) -> None:
    """The scraper's batch id is derived from its entries: a redelivered scrape stages
    under the same key, and its writer message finds the batch already written."""
    job_id = new_job(f"{ORIGIN}/")
    open_pages(job_id, "a", "b")
    key = stage(job_id, "b" * 24, [page("a")])
    write(job_id, "b" * 24, key, [item("a")])
    stage(job_id, "b" * 24, [page("a", title="Fetched again")])
    again = write(job_id, "b" * 24, key, [item("a")])
    assert (again.inserted_pages, again.remaining_open) == (0, 1)
    assert list(Page.objects.filter(scraping_id=job_id).values_list("title", flat=True)) == [
        "A page"
    ]
    assert counters(job_id)["pages_fetched"] == 1
    assert terms(job_id) == {"lighthouse": (2, 1)}
    assert not staged(key)


def test_a_page_in_two_batches_is_inserted_and_counted_once_and_the_last_close_completes(
    new_job: NewJob,
) -> None:
    job_id = new_job(f"{ORIGIN}/")
    open_pages(job_id, "a", "b", "c")
    first = write(job_id, "1" * 24, stage(job_id, "1" * 24, [page("a"), page("b")]), [
        item("a"), item("b"),
    ])  # fmt: skip
    assert first.remaining_open == 1
    second = write(job_id, "2" * 24, stage(job_id, "2" * 24, [page("b"), page("c")]), [
        item("b"), item("c"),
    ])  # fmt: skip
    assert (second.inserted_pages, second.remaining_open) == (1, 0)
    assert Page.objects.filter(scraping_id=job_id).count() == 3
    found = counters(job_id)
    assert (found["pages_fetched"], found["links"]) == (3, 3)
    assert terms(job_id) == {"lighthouse": (6, 3)}
    assert status(job_id) == "COMPLETED"
    assert Scraping.objects.get(pk=job_id).status == "COMPLETED"


def test_a_page_twice_in_one_batch_is_one_row_with_its_last_record(new_job: NewJob) -> None:
    job_id = new_job(f"{ORIGIN}/")
    open_pages(job_id, "a", "b")
    key = stage(job_id, "d" * 24, [page("a", title="First"), page("a", title="Last")])
    report = write(job_id, "d" * 24, key, [item("a"), item("a")])
    assert (report.inserted_pages, report.remaining_open) == (1, 1)
    rows = Page.objects.filter(scraping_id=job_id)
    assert list(rows.values_list("title", flat=True)) == ["Last"]
    assert Link.objects.filter(scraping_id=job_id).count() == 1
    assert counters(job_id)["pages_fetched"] == 1
    assert terms(job_id) == {"lighthouse": (2, 1)}


def test_an_expand_batch_redelivered_counts_its_skips_and_duplicates_once(
    new_job: NewJob,
) -> None:
    """An expand's batch has only skipped rows and its own duplicate count."""
    job_id = new_job(f"{ORIGIN}/")
    expand = job_state.expand_item(fingerprint("a"), 1)
    job_state.open_new(job_id, {expand: {"u": url("a"), "d": 1, "p": ""}})
    open_pages(job_id, "b")  # the job goes on
    skipped = skipped_record(PageEntry("http://elsewhere.org/", 2, url("a")), "out_of_scope")
    for _ in range(2):
        key = stage(job_id, "expand-1", [skipped], duplicates=4)
        report = write(job_id, "expand-1", key, [expand])
        assert (report.dropped, report.remaining_open) == (False, 1)
    found = counters(job_id)
    assert (found["pages_skipped"], found["skipped_out_of_scope"]) == (1, 1)
    assert found["skipped_duplicate"] == 4
    assert Page.objects.filter(scraping_id=job_id, outcome="skipped").count() == 1


def test_an_expand_item_in_two_batches_counts_its_duplicates_once(new_job: NewJob) -> None:
    """A redelivered expand message that found more pages written than its first delivery
    stages another batch with the same item: its skipped rows are upserts, and its
    duplicates count once, whichever batch is written first."""
    job_id = new_job(f"{ORIGIN}/")
    first, second = (job_state.expand_item(fingerprint(name), 1) for name in ("a", "b"))
    job_state.open_new(job_id, {item: {"u": url("a"), "d": 1, "p": ""} for item in (first, second)})
    open_pages(job_id, "c")  # the job goes on
    skipped = skipped_record(PageEntry("http://elsewhere.org/", 2, url("a")), "out_of_scope")
    batches = {"expand-one": {first: 4}, "expand-both": {first: 4, second: 3}}
    for batch_id, duplicates_of in batches.items():
        key = staging_key(job_id, batch_id)
        stage_put(job_id, key, {"pages": [skipped], "duplicates_of": duplicates_of})
        write(job_id, batch_id, key, list(duplicates_of))
    found = counters(job_id)
    assert (found["pages_skipped"], found["skipped_duplicate"]) == (1, 4 + 3)
    assert not job_state.is_open(job_id, second)


def test_a_batch_for_a_cancelled_job_writes_nothing_closes_nothing_and_drops_its_object(
    new_job: NewJob,
) -> None:
    job_id = new_job(f"{ORIGIN}/")
    open_pages(job_id, "a")
    key = stage(job_id, "c" * 24, [page("a")])
    scraping_cancel(job=Scraping.objects.get(pk=job_id))
    report = write(job_id, "c" * 24, key, [item("a")])
    assert report.dropped
    assert (report.inserted_pages, report.remaining_open) == (0, -1)
    assert not Page.objects.filter(scraping_id=job_id).exists()
    assert not WriteBatch.objects.filter(scraping_id=job_id).exists()
    assert "pages_fetched" not in counters(job_id)
    assert job_state.is_open(job_id, item("a"))  # the cancelled job keeps its record
    assert status(job_id) == "CANCELLED"
    assert not staged(key)  # nothing will ever read it


def test_a_batch_for_a_finished_job_is_dropped(new_job: NewJob) -> None:
    job_id = new_job(f"{ORIGIN}/")
    open_pages(job_id, "a")
    job_state.set_flag(job_id, job_state.Flag.STOPPED)  # as job_finish leaves it
    key = stage(job_id, "f" * 24, [page("a")])
    report = write(job_id, "f" * 24, key, [item("a")])
    assert report.dropped
    assert not staged(key)
    assert not Page.objects.filter(scraping_id=job_id).exists()
    assert "pages_fetched" not in counters(job_id)


def test_a_batch_for_a_deleted_job_is_dropped_and_recreates_nothing(new_job: NewJob) -> None:
    job_id = new_job(f"{ORIGIN}/")
    open_pages(job_id, "a")
    key = stage(job_id, "e" * 24, [page("a")])
    scraping_delete(job=Scraping.objects.get(pk=job_id))
    report = write(job_id, "e" * 24, key, [item("a")])
    assert report.dropped
    assert not Scraping.objects.filter(pk=job_id).exists()
    assert not Page.objects.filter(scraping_id=job_id).exists()
    assert job_state.job_keys(job_id) == []


@pytest.mark.django_db(transaction=True)  # the foreign key is checked at commit
def test_a_batch_whose_job_row_vanished_mid_write_is_dropped(new_job: NewJob) -> None:
    """The row is deleted without a tombstone (cached config, no stopped flag): the
    insert's foreign key fails and the writer drops the batch instead of retrying."""
    job_id = new_job(f"{ORIGIN}/")
    open_pages(job_id, "a")
    key = stage(job_id, "9" * 24, [page("a")])
    assert job_config(job_id) is not None  # cached, as in a worker that saw the job
    Scraping.objects.filter(pk=job_id).delete()
    report = write(job_id, "9" * 24, key, [item("a")])
    assert report.dropped
    assert not Page.objects.filter(scraping_id=job_id).exists()
    assert job_state.is_open(job_id, item("a"))
