"""What-if experiments: candidate pipeline changes, applied at run time in the bench's
workers only (`--whatif NAME,...`), so their gain can be measured without editing the
pipeline. NOT the shipped code: each one is a sketch of a suggested change.

- robots-memo: keep each job's parsed robots rules in process memory. Today
  `skip_reason` asks Redis (one HGET round trip) for every link of every page (~134
  per page here), and `_fetch_one` once more per page. The stored value never changes
  once written (first writer wins), so a per-process memo is exact.
- copy-rows: write terms and links with PostgreSQL COPY (psycopg 3) instead of building
  Django model objects for bulk_create (images, ~13 a page, keep the shipped path). No ON
  CONFLICT is needed: children are inserted only for pages this same transaction
  inserted, and terms are made unique per page after the 100-character cut.
- terms-jsonb: on top of copy-rows, keep a page's terms as one jsonb value per page
  (a bench-only table, bench_page_terms) instead of one row per term (~1200 per page).
- gzip1: stage batches in S3 with gzip level 1 instead of 5.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import os
from typing import Any

logger = logging.getLogger(__name__)
WHATIFS = ("robots-memo", "copy-rows", "terms-jsonb", "gzip1")
ENV = "BENCH_WHATIF"


def selected() -> list[str]:
    names = [n for n in os.environ.get(ENV, "").split(",") if n]
    unknown = set(names) - set(WHATIFS)
    if unknown:
        raise ValueError(f"unknown what-if {sorted(unknown)}; known: {WHATIFS}")
    return names


def apply(names: list[str]) -> None:
    for name in names:
        globals()["_" + name.replace("-", "_")]()
        logger.warning("what-if applied: %s", name)


def _robots_memo() -> None:
    from isidorus.scrapings import robots_cache
    from isidorus.scrapings.services import discover, scrape

    original = robots_cache.robots_rules

    @functools.lru_cache(maxsize=4096)
    def by_origin(job_id: str, origin: str) -> Any:
        return original(job_id, origin + "/")

    def robots_rules(job_id: str, url: str) -> Any:
        return by_origin(job_id, robots_cache.origin_of(url))

    for module in (robots_cache, discover, scrape):
        module.robots_rules = robots_rules  # type: ignore[attr-defined]


def _copy_rows(terms_as_json: bool = False) -> None:
    from django.db import connection

    from isidorus.scrapings.services import write

    clean = write._clean
    original = write._insert_children

    def insert_children(job_id: str, pages: list[dict[str, Any]], inserted: dict[str, int]) -> Any:
        mine = [page for page in pages if page["fp"] in inserted]
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            if terms_as_json:
                with raw.copy("COPY bench_page_terms (page_id, terms) FROM STDIN") as copy:
                    for page in mine:
                        terms = {clean(t)[:100]: c for t, c in reversed(page["terms"].items())}
                        copy.write_row((inserted[page["fp"]], json.dumps(terms)))
            else:
                term_columns = "scraping_id, page_id, term, count"
                with raw.copy(f"COPY scrapings_pageterm ({term_columns}) FROM STDIN") as copy:
                    for page in mine:
                        page_id = inserted[page["fp"]]
                        terms: dict[str, int] = {}
                        for term, count in page["terms"].items():
                            terms.setdefault(clean(term)[:100], count)
                        for term, count in terms.items():
                            copy.write_row((job_id, page_id, term, count))
            links = 0
            link_columns = "scraping_id, page_id, target_url, internal, nofollow"
            with raw.copy(f"COPY scrapings_link ({link_columns}) FROM STDIN") as copy:
                for page in mine:
                    page_id = inserted[page["fp"]]
                    for url, internal, nofollow in page["links"]:
                        copy.write_row((job_id, page_id, clean(url), internal, nofollow))
                        links += 1
        # Images (about 13 a page) stay on the shipped path, which also returns their ids
        # for enrichment; it gets the pages without their terms and links.
        result = original(job_id, [{**p, "terms": {}, "links": []} for p in mine], inserted)
        counts = result[0] if isinstance(result, tuple) else result
        counts["links"] = links
        return result

    write._insert_children = insert_children


def _terms_jsonb() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_page_terms (page_id bigint PRIMARY KEY "
            "REFERENCES scrapings_page (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, "
            "terms jsonb NOT NULL)"
        )
    _copy_rows(terms_as_json=True)


def _gzip1() -> None:
    from django.conf import settings

    from isidorus.integrations.aws import s3_client
    from isidorus.scrapings import staging
    from isidorus.scrapings.services import scrape

    def stage_put(key: str, payload: dict[str, Any]) -> None:
        body = gzip.compress(json.dumps(payload, separators=(",", ":")).encode("utf-8"), 1)
        s3_client().put_object(
            Bucket=settings.S3_BUCKET, Key=key, Body=body, ContentType="application/json",
            ContentEncoding="gzip",
        )  # fmt: skip

    staging.stage_put = stage_put
    scrape.stage_put = stage_put  # type: ignore[attr-defined]
