"""DynamoDB (the job's live status) unreachable, or its table gone: the job routes answer
503 `aws_store_unavailable` with Retry-After in the standard error shape, never a 500.
Unreachable here is a closed port on 127.0.0.1; gone is a table name moto does not have."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from isidorus.core.errors import DATABASE_RETRY_AFTER_SECONDS
from isidorus.core.logs import ContextFilter, bound
from isidorus.scrapings.models import Scraping
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db


def _assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    body = response.json()["error"]
    assert (body["code"], set(body)) == ("aws_store_unavailable", {"code", "message", "fields"})


def test_a_job_read_while_dynamodb_is_unreachable_is_a_503(
    api: APIClient, make_job: Callable[..., Scraping], settings: Any
) -> None:
    job = make_job()
    settings.AWS_ENDPOINTS = {
        **settings.AWS_ENDPOINTS,
        "dynamodb": f"http://127.0.0.1:{free_port()}",
    }
    _assert_unavailable(api.get(f"/api/v1/scrapings/{job.pk}/"))


def test_a_job_read_while_the_job_table_is_missing_is_a_503(
    api: APIClient, make_job: Callable[..., Scraping], settings: Any
) -> None:
    job = make_job()
    settings.JOBS_TABLE = "isidorus-no-such-table"
    _assert_unavailable(api.get(f"/api/v1/scrapings/{job.pk}/"))
    # The rest of the API, which does not need the table, still answers.
    assert api.get("/api/v1/scrapings/").status_code == 200


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_the_outage_is_logged_with_the_owner_and_the_job(
    api: APIClient, make_job: Callable[..., Scraping], settings: Any
) -> None:
    job = make_job()
    settings.JOBS_TABLE = "isidorus-no-such-table"
    handler = _Captured()
    handler.addFilter(ContextFilter())
    errors_logger = logging.getLogger("isidorus.core.errors")
    errors_logger.addHandler(handler)
    try:
        _assert_unavailable(api.get(f"/api/v1/scrapings/{job.pk}/"))
    finally:
        errors_logger.removeHandler(handler)
    [record] = [r for r in handler.records if r.getMessage().startswith("aws_store_unavailable")]
    assert record.context == {"owner": str(job.owner_id), "job_id": str(job.pk)}
    assert bound() == {}  # the request's fields end with it
