"""Full-text search over an owner's pages.

Matching and ranking read only the stored, GIN-indexed vectors: `search_vector` (title A,
text C) and `summary_vector` (summary B, apart so that a summary written later does not
recompute the text's vector); nothing computes to_tsvector at query time. A page matches
if either vector does (a BitmapOr of the two indexes) and ranks on both together. The
user's text goes through websearch_to_tsquery, which accepts any input (unbalanced quotes,
lone operators) without a syntax error. Snippets come from ts_headline, which re-parses
the whole page text and is by far the costliest step, so it runs in a second query for
the rows of the returned page alone, never for every match.
"""

from __future__ import annotations

import html
import uuid
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVectorField,
)
from django.db.models import F, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat, Replace

from isidorus.scrapings.models import Page, Scraping
from isidorus.scrapings.readers import readable

MAX_QUERY_LENGTH = 500
SEARCH_CONFIG = "english"
# Private-use characters mark the matches in ts_headline's output; they are removed from
# the document first, so every mark in the output is one ts_headline put there.
_MARK_START = "\ue000"
_MARK_STOP = "\ue001"


@dataclass(frozen=True)
class SearchHit:
    page_id: int
    url: str
    title: str
    scraping_id: uuid.UUID
    rank: float
    snippet: str


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    has_more: bool


def search_query(text: str) -> SearchQuery:
    return SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)


@dataclass(frozen=True)
class Inclusion:
    """Pages search leaves out unless asked: duplicates of a canonical page, noindex pages."""

    duplicates: bool = False
    noindex: bool = False


def page_ranking(
    *, owner: Any, text: str, job: Scraping | None = None, include: Inclusion = Inclusion()
) -> QuerySet[Page, tuple[int, float]]:
    """(id, rank) of the owner's (or one of the owner's jobs') matching pages, best first."""
    query = search_query(text)
    pages = Page.objects.filter(Q(search_vector=query) | Q(summary_vector=query))
    if job is not None:
        pages = pages.filter(scraping=job)
    else:
        pages = readable(pages, owner, owner_path="scraping__owner")
    if not include.duplicates:
        pages = pages.filter(is_canonical=True)
    if not include.noindex:
        pages = pages.filter(noindex=False)
    return (
        pages.annotate(rank=SearchRank(_both_vectors(), query))
        .order_by("-rank", "id")
        .values_list("id", "rank")
    )


def page_search(
    *,
    owner: Any,
    text: str,
    job: Scraping | None = None,
    offset: int,
    limit: int,
    include: Inclusion = Inclusion(),
) -> SearchPage:
    """`limit` hits from `offset` in two queries: the ranked ids, then just those rows."""
    ranking = page_ranking(owner=owner, text=text, job=job, include=include)
    # One id more than the page says whether another page follows, without a count.
    ranked = list(ranking[offset : offset + limit + 1])
    has_more = len(ranked) > limit
    ranked = ranked[:limit]
    if not ranked:
        return SearchPage(hits=[], has_more=has_more)
    rows = {
        row["id"]: row
        for row in Page.objects.filter(id__in=[page_id for page_id, _ in ranked])
        .annotate(snippet=_headline(text))
        .values("id", "url", "title", "scraping_id", "snippet")
    }
    # A page deleted (with its job) between the two queries is simply left out.
    hits = [
        SearchHit(
            page_id=page_id,
            url=rows[page_id]["url"],
            title=rows[page_id]["title"],
            scraping_id=rows[page_id]["scraping_id"],
            rank=rank,
            snippet=snippet_html(rows[page_id]["snippet"]),
        )
        for page_id, rank in ranked
        if page_id in rows
    ]
    return SearchPage(hits=hits, has_more=has_more)


def _both_vectors() -> Func:
    """search_vector || summary_vector: each keeps its weights (A, C; B)."""
    return Func(
        F("search_vector"),
        F("summary_vector"),
        template="(%(expressions)s)",
        arg_joiner=" || ",
        output_field=SearchVectorField(),
    )


def _headline(text: str) -> SearchHeadline:
    document: Func = Concat("summary", Value("\n", output_field=TextField()), "text")
    for mark in (_MARK_START, _MARK_STOP):
        document = Replace(document, Value(mark), Value(""))
    return SearchHeadline(
        document,
        search_query(text),
        config=SEARCH_CONFIG,
        start_sel=_MARK_START,
        stop_sel=_MARK_STOP,
        max_words=35,
        min_words=15,
    )


def snippet_html(raw: str) -> str:
    """Page text is untrusted: escape all of it, then mark the matches with <mark>."""
    escaped = html.escape(raw, quote=True)
    return escaped.replace(_MARK_START, "<mark>").replace(_MARK_STOP, "</mark>")
