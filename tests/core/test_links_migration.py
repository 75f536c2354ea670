"""Migration 0022 moves link rows onto their pages (`Page.links`), in their id order, and
the `scrapings_link` view reads them back as rows: a database upgraded with links keeps
every one of them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from isidorus.scrapings.models import Link, Page

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("scrapings", "0021_expand_counted")]
AFTER = [("scrapings", "0022_page_links_jsonb")]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def test_link_rows_move_onto_their_pages_in_id_order_and_read_back_through_the_view() -> None:
    executor = _migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        owner = old.get_model("auth", "User").objects.create(username="links-migration")
        job = old.get_model("scrapings", "Scraping").objects.create(
            owner=owner, url="http://example.com/", depth=1, max_pages=10, status="COMPLETED"
        )
        page_model = old.get_model("scrapings", "Page")
        home, about = (
            page_model.objects.create(
                scraping=job, url=f"http://example.com{path}", url_hash=path, outcome="fetched"
            ).pk
            for path in ("/", "/about")
        )
        # Written out of page order, as two writers interleave: each page keeps its own
        # links' id order.
        for page_id, target, internal, nofollow in (
            (about, "http://example.com/", True, False),
            (home, "http://example.com/about", True, False),
            (home, "http://other.org/", False, True),
            (about, "http://example.com/x", True, True),
        ):
            old.get_model("scrapings", "Link").objects.create(
                scraping=job, page_id=page_id, target_url=target, internal=internal,
                nofollow=nofollow,
            )  # fmt: skip
        job_id = job.pk
    finally:
        _migrate(AFTER)

    pages = Page.objects.filter(scraping_id=job_id).order_by("id")
    assert list(pages.values_list("links", "has_external_links")) == [
        ([["http://example.com/about", True, False], ["http://other.org/", False, True]], True),
        ([["http://example.com/", True, False], ["http://example.com/x", True, True]], False),
    ]
    rows = Link.objects.filter(scraping_id=job_id)
    assert [(link.id, link.page_id, link.position, link.target_url) for link in rows] == [
        (home * 2**20, home, 0, "http://example.com/about"),
        (home * 2**20 + 1, home, 1, "http://other.org/"),
        (about * 2**20, about, 0, "http://example.com/"),
        (about * 2**20 + 1, about, 1, "http://example.com/x"),
    ]
