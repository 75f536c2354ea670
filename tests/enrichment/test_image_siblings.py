"""A URL's done sibling: the row whose outcome another row of the same URL copies."""

from __future__ import annotations

from typing import Any

import pytest

from isidorus.enrichment.images import _done_siblings
from isidorus.scrapings.models import Image
from tests.enrichment.helpers import add_image, add_page, new_job

pytestmark = pytest.mark.django_db(transaction=True)
A, B, C = (f"http://127.0.0.1:9/{name}.png" for name in "abc")


def test_the_oldest_stored_row_is_preferred_then_the_oldest_failed_and_excluded_rows_never(
    stack: Any,
) -> None:
    job = new_job(summarize=False)
    page = add_page(job, url="http://127.0.0.1:9/")

    def row(url: str, outcome: str = "", **values: str) -> int:
        image = add_image(job, page, url=url)
        Image.objects.filter(pk=image).update(outcome=outcome, **values)
        return image

    row(A, "failed", reason="timeout")
    oldest_stored = row(A, "stored", s3_key="images/a")
    row(A, "stored", s3_key="images/a2")
    oldest_failed = row(B, "failed", reason="not_an_image")
    row(B, "failed", reason="corrupt")
    excluded = row(C, "stored", s3_key="images/c")
    mine = row(A)

    found = _done_siblings(job, [A, B, C], exclude=[mine, excluded])

    assert set(found) == {A, B}
    assert (found[A].pk, found[A].outcome, found[A].s3_key) == (oldest_stored, "stored", "images/a")
    assert (found[B].pk, found[B].reason) == (oldest_failed, "not_an_image")
    assert _done_siblings(job, [], exclude=[]) == {}
