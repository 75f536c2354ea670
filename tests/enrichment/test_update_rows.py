"""update_rows: many rows written by one UPDATE, each only while it is still unwritten."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from isidorus.enrichment.common import update_rows
from isidorus.scrapings.models import Image
from tests.enrichment.helpers import add_image, add_page, new_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_each_row_gets_its_own_values_and_a_row_written_meanwhile_keeps_its_own(
    stack: Any,
) -> None:
    job = new_job(summarize=False)
    page = add_page(job, url="http://127.0.0.1:9/")
    ids = [add_image(job, page, url=f"http://127.0.0.1:9/{n}.png") for n in range(3)]
    Image.objects.filter(pk=ids[1]).update(outcome="failed", reason="corrupt")

    with CaptureQueriesContext(connection) as queries:
        written = update_rows(
            Image,
            {"sha256": {pk: f"sha-{pk}" for pk in ids}, "width": {pk: pk * 10 for pk in ids}},
            same={"outcome": "stored"},
            unless_changed={"outcome": ""},
        )

    assert sorted(written) == [ids[0], ids[2]]
    assert len(queries) == 1
    rows = {row.pk: row for row in Image.objects.filter(pk__in=ids)}
    for pk in (ids[0], ids[2]):
        assert (rows[pk].outcome, rows[pk].sha256, rows[pk].width) == (
            "stored",
            f"sha-{pk}",
            pk * 10,
        )
    assert (rows[ids[1]].outcome, rows[ids[1]].sha256, rows[ids[1]].width) == ("failed", "", None)


def test_nothing_to_write_sends_no_statement(stack: Any) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert update_rows(Image, {"sha256": {}}, same={}, unless_changed={"outcome": ""}) == []
    assert not queries
