"""Cancel and delete a job, including while its workers are busy with it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from isidorus.integrations.aws import s3_client
from isidorus.integrations.job_table import job_item_get
from isidorus.integrations.redis_client import get_redis
from isidorus.scrapings.models import JobTerm, Link, Page, Scraping, WriteBatch
from isidorus.scrapings.services.lifecycle import AlreadyFinished, scraping_cancel, scraping_delete
from tests.e2e.crawling import start_crawl, wait_terminal
from tests.support.generated_site import generated_routes
from tests.support.site import FixtureSite
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

IN_FLIGHT_GRACE = 1.0


def _job_redis_keys(job_id: str) -> list[str]:
    return [str(key) for key in get_redis().scan_iter(match=f"*{{{job_id}}}*", count=1000)]


def _staged_objects(job_id: str) -> list[str]:
    listing = s3_client().list_objects_v2(Bucket=settings.S3_BUCKET, Prefix=f"staging/{job_id}/")
    return [item["Key"] for item in listing.get("Contents", [])]


def _assert_gone(job_id: str) -> None:
    assert not Scraping.objects.filter(pk=job_id).exists()
    for model in (Page, JobTerm, Link, WriteBatch):
        assert not model.objects.filter(scraping_id=job_id).exists(), model.__name__
    assert job_item_get(job_id) is None
    assert _staged_objects(job_id) == []
    assert _job_redis_keys(job_id) == [f"tombstone:{{{job_id}}}"]


def test_cancel_stops_a_running_crawl_promptly(start_worker: Any, redis_clean: Any) -> None:
    with FixtureSite(generated_routes(80, links_per_page=6, delay=0.3)) as site:
        start_worker(stages=["scraper", "writer"], name="cancelled", concurrency=2)
        job_id = start_crawl(site.url("/"), depth=6)
        wait_for(
            lambda: Page.objects.filter(scraping_id=job_id).count() >= 3,
            timeout=60, message="a few pages written",
        )  # fmt: skip
        scraping_cancel(job=Scraping.objects.get(pk=job_id))
        cancelled_at = time.time()
        written = Page.objects.filter(scraping_id=job_id).count()
        time.sleep(4)
        # A request whose host slot was granted just before the tombstone can reach this
        # threaded test server later on a loaded 2-core machine (0.25 s was exceeded in CI
        # twice); a crawl the cancel did not stop sends several requests a second for 4 s.
        late = [path for path, when in site.requests if when > cancelled_at + IN_FLIGHT_GRACE]
    assert job_item_get(job_id)["status"] == "CANCELLED"  # type: ignore[index]
    assert Scraping.objects.get(pk=job_id).status == "CANCELLED"
    assert late == []
    assert Page.objects.filter(scraping_id=job_id).count() >= written > 0
    with pytest.raises(AlreadyFinished):
        scraping_cancel(job=Scraping.objects.get(pk=job_id))


def test_the_admins_delete_action_removes_a_finished_job_everywhere(
    start_worker: Any, redis_clean: Any
) -> None:
    with FixtureSite(generated_routes(20, links_per_page=4)) as site:
        start_worker(stages=["scraper", "writer"], name="deleted", concurrency=2)
        job_id = start_crawl(site.url("/"), depth=3)
        assert wait_terminal(job_id)["status"] == "COMPLETED"
        assert Page.objects.filter(scraping_id=job_id).exists()
        admin = Client()
        admin.force_login(get_user_model().objects.create_superuser("root", password="x"))
        fetched = Page.objects.filter(scraping_id=job_id, outcome="fetched").count()
        listing = admin.get("/admin/scrapings/scraping/").content.decode()
        assert f"{fetched} of {fetched} ({fetched} fetched, 0 failed, 0 skipped)" in listing
        response = admin.post(
            "/admin/scrapings/scraping/",
            {"action": "delete_jobs", "_selected_action": [job_id]},
            follow=True,
        )
        assert "Deleted 1 job(s)" in response.content.decode()
    _assert_gone(job_id)


def test_deleting_a_running_job_leaves_nothing_behind(start_worker: Any, redis_clean: Any) -> None:
    with FixtureSite(generated_routes(80, links_per_page=6, delay=0.3)) as site:
        start_worker(stages=["scraper", "writer"], name="deleted-running", concurrency=2)
        job_id = start_crawl(site.url("/"), depth=6)
        wait_for(
            lambda: Page.objects.filter(scraping_id=job_id).count() >= 3,
            timeout=60, message="a few pages written",
        )  # fmt: skip
        scraping_delete(job=Scraping.objects.get(pk=job_id))
        time.sleep(settings.CELERY_TASK_TIME_LIMIT)  # let in-flight batches finish and drop
    _assert_gone(job_id)
