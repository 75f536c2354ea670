"""The API's per-request reads in composed SQL (isidorus.core.rows) give the same model
instances as the ORM: every field, converted the same way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db.models import Model

from isidorus.accounts.authentication import _key_with_owner
from isidorus.accounts.keys import split_key
from isidorus.accounts.models import ApiKey
from isidorus.scrapings.models import Scraping
from isidorus.scrapings.readers import EVERY_OWNER
from isidorus.scrapings.selectors import scraping_get


def _fields(instance: Model) -> dict[str, Any]:
    return {
        field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields
    }


def test_a_job_is_read_with_every_field_as_the_orm_reads_it(
    make_job: Callable[..., Scraping], make_user: Callable[..., Any]
) -> None:
    job = make_job(
        include=["/docs/*"], exclude=[], webhook={"url": "http://hooks.test/", "events": ["x"]},
        token_budget=500, status="completed", started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        final_item={"status": "COMPLETED", "pages_fetched": 3, "nested": {"a": [1, 2]}},
    )  # fmt: skip
    read = scraping_get(owner=job.owner, job_id=str(job.pk))
    assert read is not None
    assert type(read) is Scraping
    assert _fields(read) == _fields(Scraping.objects.get(pk=job.pk))
    assert read.final_item == {"status": "COMPLETED", "pages_fetched": 3, "nested": {"a": [1, 2]}}
    assert read.finished_at is None
    assert read.started_at is not None
    assert read.started_at.tzinfo is not None

    assert scraping_get(owner=make_user("mallory"), job_id=str(job.pk)) is None
    assert scraping_get(owner=job.owner, job_id="not-a-uuid") is None
    staff_read = scraping_get(owner=EVERY_OWNER, job_id=str(job.pk))
    assert staff_read is not None
    assert _fields(staff_read) == _fields(read)


def test_an_api_key_is_read_with_its_owner_as_the_orm_reads_them(raw_key: str, owner: Any) -> None:
    prefix = split_key(raw_key)[0]
    read = _key_with_owner(prefix)
    assert read is not None
    expected = ApiKey.objects.select_related("owner").get(prefix=prefix)
    assert _fields(read) == _fields(expected)
    assert _fields(read.owner) == _fields(expected.owner)
    assert read.owner.pk == owner.pk
    assert read.owner_id == owner.pk
    assert _key_with_owner("nosuchprefix") is None
