"""A job whose launch never happened (the process died between commit and launch) is
relaunched by the reaper, and failed if that does not work either."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from isidorus import job_state
from isidorus.integrations.job_table import job_item_get
from isidorus.maintenance import reap_stalled_jobs
from isidorus.scrapings.models import Scraping

pytestmark = pytest.mark.django_db(transaction=True)


def _unlaunched_job() -> str:
    owner = get_user_model().objects.create_user(username="orphan")
    job = Scraping.objects.create(owner=owner, url="http://127.0.0.1:9/")
    Scraping.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=5))
    return str(job.pk)


def test_the_reaper_launches_a_job_whose_start_never_happened(
    aws_resources: Any, redis_clean: Any
) -> None:
    job_id = _unlaunched_job()
    assert job_item_get(job_id) is None
    assert reap_stalled_jobs(stall_seconds=1)[job_id] == "relaunched"
    assert job_item_get(job_id)["status"] == "QUEUED"  # type: ignore[index]
    assert job_state.open_count(job_id) == 1
    assert job_id not in reap_stalled_jobs(stall_seconds=1)


def test_a_job_that_cannot_be_launched_ends_failed(aws_resources: Any, redis_clean: Any) -> None:
    job_id = _unlaunched_job()
    job_state.set_flag(job_id, job_state.Flag.LAUNCH_RETRIED)  # the one relaunch already went wrong
    assert reap_stalled_jobs(stall_seconds=1)[job_id] == "failed"
    job = Scraping.objects.get(pk=job_id)
    assert job.status == "FAILED"
    assert job.status_reason == "the job could not be started"
