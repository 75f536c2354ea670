"""Fixtures of the service-level tests of the completion core: a job's Redis state alone
(for job_state), or a whole job (row, DynamoDB item, Redis state) for the services."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from config.queues import IMAGE_EXTRACTOR, PAGE_SUMMARIZER, SCRAPER, WRITER
from isidorus import job_state
from isidorus.integrations import job_table
from isidorus.scrapings.models import Scraping
from tests.support.batches import take

NewJob = Callable[..., str]


@pytest.fixture
def job_id(redis_clean: Any) -> str:
    """A job whose Redis state exists, as its launch leaves it; nothing else is needed."""
    job_id = str(uuid.uuid4())
    job_state.activate(job_id)
    return job_id


@pytest.fixture
def queues(aws_resources: Any) -> Iterator[None]:
    """Empty the scraper and writer queues (and enrichment's) around a test."""
    for stage in (SCRAPER, WRITER, PAGE_SUMMARIZER, IMAGE_EXTRACTOR):
        take(stage)
    yield
    for stage in (SCRAPER, WRITER, PAGE_SUMMARIZER, IMAGE_EXTRACTOR):
        take(stage)


@pytest.fixture
def new_job(redis_clean: Any, queues: None) -> NewJob:
    """Make a running job: its row, its DynamoDB item and its Redis state. No enrichment."""

    def make(url: str, *, depth: int = 2, max_pages: int = 100) -> str:
        owner, _ = get_user_model().objects.get_or_create(username="core")
        job = Scraping.objects.create(
            owner=owner, url=url, depth=depth, max_pages=max_pages, respect_robots=False,
            summarize=False, describe_images=False,
        )  # fmt: skip
        job_id = str(job.pk)
        job_table.job_item_create(
            job_id=job_id, owner_id=owner.pk, url=url, depth=depth,
            created_at=datetime.now(UTC).isoformat(), max_pages=max_pages,
        )  # fmt: skip
        job_table.job_item_mark_running(job_id)
        job_state.activate(job_id)
        return job_id

    return make
