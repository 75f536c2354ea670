"""The rows of an export: a job's pages in id order, read in bounded chunks.

Each chunk is two queries (pages with their link counts, their images), so an export of any
size holds one chunk in memory and never a server-side cursor. Ids only grow, so a job
that is still running exports what was written before each chunk was read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from isidorus.scrapings.models import Image, LinkCount, Page, Scraping
from isidorus.scrapings.search import Inclusion
from isidorus.scrapings.selectors import TermCount, top_terms

CHUNK_PAGES = 500
EXPORT_TOP_TERMS = 20
_PAGE_COLUMNS = (
    "id", "url", "final_url", "status_code", "outcome", "reason", "depth", "title", "summary",
    "summary_model", "content_source", "content_markdown", "terms", "noindex", "canonical_url",
    "is_canonical",
)  # fmt: skip
_IMAGE_COLUMNS = ("page_id", "url", "alt", "outcome", "reason", "s3_key", "description")


@dataclass(frozen=True)
class ExportPage:
    page: dict[str, Any]
    top_terms: list[TermCount]
    link_count: int
    images: list[dict[str, Any]]


def export_pages(job: Scraping, include: Inclusion | None = None) -> Iterator[ExportPage]:
    """The job's pages (canonical, indexable ones unless `include` says otherwise)."""
    include = include or Inclusion()
    pages = Page.objects.filter(scraping=job)
    if not include.duplicates:
        pages = pages.filter(is_canonical=True)
    if not include.noindex:
        pages = pages.filter(noindex=False)
    after = 0
    while True:
        rows = pages.filter(id__gt=after).order_by("id").annotate(link_count=LinkCount())
        chunk = list(rows.values(*_PAGE_COLUMNS, "link_count")[:CHUNK_PAGES])
        if not chunk:
            return
        ids = [row["id"] for row in chunk]
        images: dict[int, list[dict[str, Any]]] = {}
        for image in Image.objects.filter(page_id__in=ids).order_by("id").values(*_IMAGE_COLUMNS):
            images.setdefault(image.pop("page_id"), []).append(image)
        for row in chunk:
            yield ExportPage(
                page=row,
                top_terms=top_terms(row.pop("terms") or {}, EXPORT_TOP_TERMS),
                link_count=row.pop("link_count"),
                images=images.get(row["id"], []),
            )
        after = ids[-1]
