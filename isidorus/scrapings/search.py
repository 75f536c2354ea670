"""Full-text search over an owner's pages.

Matching and ranking read only the stored, GIN-indexed vectors: `search_vector` (title A,
text C) and `summary_vector` (summary B, apart so that a summary written later does not
recompute the text's vector); nothing computes to_tsvector at query time. A page matches
if either vector does (a BitmapOr of the two indexes) and ranks on the sum of the two
ranks. A search of one job for words on most of its pages reads every page's vectors
once instead (_ranked_by_scan): the same rows, without reading each vector twice. The
user's text goes through websearch_to_tsquery, which accepts any input (unbalanced
quotes, lone operators) without a syntax error. Snippets come from
ts_headline, which re-parses the page text and is the costliest step after the ranking,
so it runs in a second query for the rows of the returned page alone, never for every
match, over the start of each page first.
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
)
from django.db import connection
from django.db.models import F, FloatField, Func, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat, Left, Replace

from isidorus.crawling.terms import folded_tokens
from isidorus.scrapings.models import Page, Scraping
from isidorus.scrapings.readers import readable

MAX_QUERY_LENGTH = 500
SEARCH_CONFIG = "english"
# The snippet is looked for in this many characters of the summary and text first: on
# pages of 10 KB, 20 snippets cost 7.6 ms of PostgreSQL instead of 33.5.
SNIPPET_WINDOW_CHARS = 3000
# A search of one job for words each on at least this share of its fetched pages reads
# every page's vectors once (_ranked_by_scan) instead of matching through the GIN indexes,
# which then reads each vector twice; a rarer word is found faster through the indexes.
# Both give the same rows. Jobs under FREQUENT_MIN_PAGES pages use the indexes.
FREQUENT_SHARE = 0.5
FREQUENT_MIN_PAGES = 200
_QUERY_OPERATOR_WORDS = frozenset(("or",))
_FREQUENT_WORDS_SQL = f"""
SELECT count(*) FROM scrapings_jobterm
WHERE scraping_id = %s AND term = ANY(%s) AND pages >= %s
AND pages >= {FREQUENT_SHARE} * (
    SELECT count(*) FROM scrapings_page WHERE scraping_id = %s AND outcome = 'fetched'
)
"""
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
    return pages.annotate(rank=_rank(query)).order_by("-rank", "id").values_list("id", "rank")


def page_search(
    *,
    owner: Any,
    text: str,
    job: Scraping | None = None,
    offset: int,
    limit: int,
    include: Inclusion = Inclusion(),
) -> SearchPage:
    """`limit` hits from `offset` in two queries: the ranked ids, then just those rows (in
    one job, a third first: whether its words are on most of the job's pages)."""
    # One id more than the page says whether another page follows, without a count.
    if job is not None and _is_frequent_in(job, text):
        ranked = _ranked_by_scan(job=job, text=text, include=include, offset=offset, rows=limit + 1)
    else:
        ranking = page_ranking(owner=owner, text=text, job=job, include=include)
        ranked = list(ranking[offset : offset + limit + 1])
    has_more = len(ranked) > limit
    ranked = ranked[:limit]
    if not ranked:
        return SearchPage(hits=[], has_more=has_more)
    rows = _rows_with_snippets([page_id for page_id, _ in ranked], text)
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


def _is_frequent_in(job: Scraping, text: str) -> bool:
    """Whether every word of `text` is on at least FREQUENT_SHARE of the job's fetched pages
    (by the job's term totals; a word that is not a term, such as a stop word, is not)."""
    words = sorted(set(folded_tokens(text)) - _QUERY_OPERATOR_WORDS)
    if not words:
        return False
    with connection.cursor() as cursor:
        cursor.execute(_FREQUENT_WORDS_SQL, [job.pk, words, FREQUENT_MIN_PAGES, job.pk])
        (frequent,) = cursor.fetchone()
    return bool(frequent == len(words))


def _ranked_by_scan(
    *, job: Scraping, text: str, include: Inclusion, offset: int, rows: int
) -> list[tuple[int, float]]:
    """page_ranking's (id, rank) rows for one job, each page's vectors read once.

    For a word on most pages, matching and ranking every page from the GIN indexes read
    each page's vector from TOAST twice, once for `@@` and once for ts_rank (about 7.9 KB
    a `typical` page): 83.5 ms against 57.2 for 8,000 pages, with the same rows. An ARRAY
    of the two vectors is built from one detoasted copy of each, which both then read.
    """
    filters = "".join(
        (
            "" if include.duplicates else " AND is_canonical",
            "" if include.noindex else " AND NOT noindex",
        )
    )
    sql = (
        "SELECT p.id, ts_rank(p.v[1], q) + ts_rank(p.v[2], q) AS rank FROM ("
        "SELECT id, ARRAY[search_vector, summary_vector] AS v FROM scrapings_page "
        f"WHERE scraping_id = %s{filters} OFFSET 0) p, websearch_to_tsquery(%s::regconfig, %s) q "
        "WHERE p.v[1] @@ q OR p.v[2] @@ q ORDER BY rank DESC, p.id LIMIT %s OFFSET %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [job.pk, SEARCH_CONFIG, text, rows, offset])
        return [(int(page_id), float(rank)) for page_id, rank in cursor.fetchall()]


def _rank(query: SearchQuery) -> Func:
    """The rank on each vector, added: each keeps its weights (A, C; B). Ranking
    `search_vector || summary_vector` instead built the concatenation for every match
    first: 2.4x the time on 5,000 matching pages of 10 KB of text."""
    return Func(
        SearchRank(F("search_vector"), query),
        SearchRank(F("summary_vector"), query),
        template="(%(expressions)s)",
        arg_joiner=" + ",
        output_field=FloatField(),
    )


def _rows_with_snippets(page_ids: list[int], text: str) -> dict[int, dict[str, Any]]:
    """The pages' rows with a snippet each: from the start of the summary and text first
    (ts_headline's cost grows with the document), then from the whole document for the
    pages whose match lies further on."""
    columns = ("id", "url", "title", "scraping_id", "snippet")
    pages = Page.objects.filter(id__in=page_ids)
    rows = {
        row["id"]: row
        for row in pages.annotate(snippet=_headline(text, SNIPPET_WINDOW_CHARS)).values(*columns)
    }
    further = [page_id for page_id, row in rows.items() if _MARK_START not in row["snippet"]]
    if further:
        whole = pages.filter(id__in=further).annotate(snippet=_headline(text, None))
        rows.update((row["id"], row) for row in whole.values(*columns))
    return rows


def _headline(text: str, window: int | None) -> SearchHeadline:
    document: Func = Concat("summary", Value("\n", output_field=TextField()), "text")
    if window is not None:
        document = Left(document, window)
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
