"""Full-text search over the caller's pages, and the query plans of the hot reads."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.models import QuerySet
from rest_framework.test import APIClient

from isidorus.scrapings import search as search_module
from isidorus.scrapings.models import JobTerm, Page, Scraping
from isidorus.scrapings.search import Inclusion, page_ranking, page_search
from isidorus.scrapings.selectors import page_list

pytestmark = pytest.mark.django_db
SEARCH_URL = "/api/v1/search/"


def search(api: APIClient, q: str, **params: Any) -> dict[str, Any]:
    response = api.get(SEARCH_URL, {"q": q, **params})
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def page_ids(body: dict[str, Any]) -> list[int]:
    return [hit["page"]["id"] for hit in body["results"]]


# --- Finding and ranking -------------------------------------------------------------------


def test_a_word_finds_its_pages_and_the_page_repeating_it_ranks_first(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    once = make_page(
        job, "http://example.com/once", title="Birds", text="A kestrel hovered over the field."
    )
    often = make_page(
        job,
        "http://example.com/often",
        title="Falcons",
        text="Kestrel facts: the kestrel hovers, kestrels hunt voles, a kestrel nests early.",
    )
    make_page(job, "http://example.com/other", title="Fish", text="Trout swim upstream.")

    body = search(api, "kestrel")

    assert page_ids(body) == [often.pk, once.pk]
    assert (body["next"], body["previous"]) == (None, None)
    best = body["results"][0]
    assert set(best) == {"page", "scraping", "rank", "snippet"}
    assert best["page"] == {"id": often.pk, "url": "http://example.com/often", "title": "Falcons"}
    assert best["scraping"] == str(job.pk)
    assert best["rank"] > body["results"][1]["rank"] > 0
    assert "<mark>Kestrel</mark> facts: the <mark>kestrel</mark> hovers" in best["snippet"]


def test_a_word_in_the_title_outranks_the_same_word_in_the_text(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    in_text = make_page(job, "http://example.com/text", text="Notes about the osprey.")
    in_title = make_page(job, "http://example.com/title", title="Osprey", text="Notes.")
    assert page_ids(search(api, "osprey")) == [in_title.pk, in_text.pk]


def test_the_summary_is_searched_too(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    page = make_page(job, "http://example.com/", text="Plain text.")
    Page.objects.filter(pk=page.pk).update(summary="A page about harriers.")
    assert page_ids(search(api, "harrier")) == [page.pk]


def test_the_web_search_syntax_works(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    both = make_page(job, "http://example.com/both", text="red kite and black kite")
    red = make_page(job, "http://example.com/red", text="red kite")
    assert page_ids(search(api, "kite -black")) == [red.pk]
    assert page_ids(search(api, '"black kite"')) == [both.pk]
    assert sorted(page_ids(search(api, "black or red"))) == sorted([both.pk, red.pk])


def test_the_search_can_be_restricted_to_one_job(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    first, second = make_job(), make_job()
    mine = make_page(first, "http://example.com/a", text="the merlin")
    elsewhere = make_page(second, "http://example.com/b", text="the merlin")

    assert sorted(page_ids(search(api, "merlin"))) == sorted([mine.pk, elsewhere.pk])
    restricted = search(api, "merlin", scraping=str(first.pk))
    assert page_ids(restricted) == [mine.pk]
    assert restricted["results"][0]["scraping"] == str(first.pk)


# --- Other owners --------------------------------------------------------------------------


def test_another_owners_pages_are_never_found(
    api: APIClient,
    make_user: Any,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
) -> None:
    make_page(make_job(owner=make_user("mallory")), "http://example.com/", text="secret hobby")
    assert search(api, "secret hobby")["results"] == []


@pytest.mark.parametrize("scraping", ["theirs", "unknown", "not-a-uuid"])
def test_searching_a_job_that_is_not_the_callers_is_404(
    api: APIClient,
    make_user: Any,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    scraping: str,
) -> None:
    theirs = make_job(owner=make_user("mallory"))
    make_page(theirs, "http://example.com/", text="secret hobby")
    job_id = {"theirs": str(theirs.pk), "unknown": str(uuid.uuid4())}.get(scraping, scraping)
    response = api.get(SEARCH_URL, {"q": "secret", "scraping": job_id})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_search_needs_an_api_key() -> None:
    assert APIClient().get(SEARCH_URL, {"q": "kestrel"}).status_code == 401


# --- Hostile and bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    "q",
    [
        '"unclosed quote',
        "-",
        "or or",
        "&&&",
        "!",
        "(",
        "a)",
        ":*",
        "kestrel:*",
        "'",
        "\\",
        '""',
        "-'-\"-",
        "<script>alert(1)</script>",
        "a & | ! <-> b",
        "the and of",  # stop words only: no lexemes at all
        "ünïcödé 鳥 🦅",
        "&" * 500,
    ],
)
def test_any_query_text_is_answered_not_an_error(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page], q: str
) -> None:
    make_page(make_job(), "http://example.com/", text="a kestrel")
    body = search(api, q)
    assert isinstance(body["results"], list)


def test_an_unclosed_quote_still_finds_the_word(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    page = make_page(make_job(), "http://example.com/", text="a kestrel")
    assert page_ids(search(api, '"kestrel')) == [page.pk]


@pytest.mark.parametrize(
    "query",
    [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 501}, {"q": "kestrel\x00"}],
    ids=["missing", "empty", "blank", "too-long", "nul"],
)
def test_a_missing_or_bad_q_is_400(api: APIClient, query: dict[str, str]) -> None:
    response = api.get(SEARCH_URL, query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["fields"]) == {"q"}


@pytest.mark.parametrize(
    "query",
    [
        {"page": "0"},
        {"page": "101"},
        {"page": "two"},
        {"page_size": "0"},
        {"page_size": "51"},
        {"page_size": "-1"},
        {"page_size": "1" * 30},
        {"page": "0", "page_size": "0"},
    ],
)
def test_a_bad_page_or_page_size_is_400(api: APIClient, query: dict[str, str]) -> None:
    response = api.get(SEARCH_URL, {"q": "kestrel", **query})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == set(query)


# --- Snippets ------------------------------------------------------------------------------


def test_the_snippet_is_escaped_html_with_the_matches_marked(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    make_page(
        make_job(),
        "http://example.com/",
        # The private-use characters are what the search marks matches with internally.
        text='We say "hi" & wave to the kestrel \ue000 and \ue001 then leave',
    )
    snippet = search(api, "kestrel")["results"][0]["snippet"]
    assert "say &quot;hi&quot; &amp; wave to the <mark>kestrel</mark>" in snippet
    assert snippet.count("<mark>") == snippet.count("</mark>") == 1
    assert "<" not in snippet.replace("<mark>", "").replace("</mark>", "")


def test_a_match_far_into_a_long_page_still_gets_its_snippet(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    """The snippet is looked for at the start of a page first, then in the whole page."""
    job = make_job()
    make_page(job, "http://example.com/early", text="the kestrel hovers " + "filler " * 2000)
    make_page(job, "http://example.com/late", text="filler " * 2000 + "the kestrel hovers")
    snippets = {hit["page"]["url"]: hit["snippet"] for hit in search(api, "kestrel")["results"]}
    assert set(snippets) == {"http://example.com/early", "http://example.com/late"}
    for snippet in snippets.values():
        assert "<mark>kestrel</mark> hovers" in snippet


# --- Pages of results ----------------------------------------------------------------------


def test_numbered_pages_walk_the_ranking_without_repeats(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    # Ranks 5, 4, 3, 3, 1 repeats of the word: the two pages that tie are ordered by id.
    repeats = [5, 4, 3, 3, 1]
    pages = [
        make_page(job, f"http://example.com/{n}", text=" ".join(["buzzard"] * count))
        for n, count in enumerate(repeats)
    ]
    seen: list[int] = []
    previous: list[str | None] = []
    url: str | None = f"{SEARCH_URL}?q=buzzard&page_size=2"
    while url is not None:
        body = api.get(url).json()
        assert len(body["results"]) <= 2
        seen += page_ids(body)
        previous.append(body["previous"])
        url = body["next"]
    assert seen == [page.pk for page in pages]
    assert previous[0] is None
    assert parse_qs(urlsplit(previous[2] or "").query) == {
        "q": ["buzzard"],
        "page_size": ["2"],
        "page": ["2"],
    }


def test_there_is_no_page_after_the_last_allowed_one(
    api: APIClient, make_job: Callable[..., Scraping]
) -> None:
    job = make_job()
    Page.objects.bulk_create(
        Page(
            scraping=job,
            url=f"http://example.com/{n}",
            url_hash=str(n),
            outcome="fetched",
            text="owl",
        )
        for n in range(101)
    )
    assert search(api, "owl", page=99, page_size=1)["next"] is not None
    last = search(api, "owl", page=100, page_size=1)
    assert len(last["results"]) == 1
    assert last["next"] is None


# --- Queries -------------------------------------------------------------------------------


def test_a_search_costs_three_queries_and_snippets_only_the_returned_rows(
    api: APIClient,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    django_assert_num_queries: Any,
) -> None:
    job = make_job()
    for n in range(8):
        make_page(job, f"http://example.com/{n}", text=f"the hobby {n} " + "filler " * 200)
    search(api, "hobby")  # stamps the key's last use once
    with django_assert_num_queries(3) as captured:  # the key; the ranked ids; the snippets
        body = search(api, "hobby", page_size=3)
    assert len(body["results"]) == 3
    assert body["next"] is not None
    ranking, snippets = (query["sql"] for query in captured.captured_queries[1:])
    assert "ts_rank" in ranking
    assert "ts_headline" not in ranking
    assert "ts_headline" in snippets
    # The snippets are made for the three returned pages only, not for every match.
    (ids,) = re.findall(r'"scrapings_page"\."id" IN \(([^)]*)\)', snippets)
    assert sorted(int(page_id) for page_id in ids.split(",")) == sorted(page_ids(body))
    # The stored vector is searched; nothing is turned into a tsvector at query time.
    assert "to_tsvector" not in ranking + snippets


def test_a_search_in_one_job_costs_one_query_more(
    api: APIClient,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    django_assert_num_queries: Any,
) -> None:
    job = make_job()
    make_page(job, "http://example.com/", text="hobby")
    search(api, "hobby")
    # The key; the job; how many of its pages have the words; the ranked ids; the snippets.
    with django_assert_num_queries(5):
        search(api, "hobby", scraping=str(job.pk))


def test_a_search_without_hits_makes_no_snippets(
    api: APIClient, make_job: Callable[..., Scraping], django_assert_num_queries: Any
) -> None:
    make_job()
    search(api, "hobby")
    with django_assert_num_queries(2):  # the key; the ranked ids
        assert search(api, "hobby")["results"] == []


# --- Query plans at size -------------------------------------------------------------------

WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "lambda", "theta", "rho"]


@pytest.fixture
def big_job(make_job: Callable[..., Scraping]) -> Scraping:
    """A job of 2,000 pages, written after another job's 1,000 (as on a shared server)."""
    earlier = make_job()
    Page.objects.bulk_create(
        Page(scraping=earlier, url=f"http://example.com/{n}", url_hash=str(n), outcome="fetched")
        for n in range(1000)
    )
    job = make_job()
    Page.objects.bulk_create(
        Page(
            scraping=job,
            url=f"http://example.com/{n}",
            url_hash=str(n),
            outcome="fetched",
            title=f"Page {n}",
            text=" ".join(WORDS[(n * k) % len(WORDS)] for k in range(200))
            + (" kestrel" if n % 400 == 0 else ""),
        )
        for n in range(2000)
    )
    with connection.cursor() as cursor:
        # Rows written in this (uncommitted) transaction all sit in the GIN index's pending
        # list, which the planner prices as a full read; autovacuum merges it in service.
        cursor.execute("SELECT gin_clean_pending_list('page_search_vector'::regclass)")
        cursor.execute("ANALYZE scrapings_page")
    return job


def page_scan(queryset: QuerySet[Any]) -> tuple[str, str]:
    """The plan and its line that reads scrapings_page."""
    plan = queryset.explain()
    lines = [line.strip() for line in plan.splitlines()]
    scan = next((line for line in lines if re.search(r"Scan.* on scrapings_page\b", line)), plan)
    return plan, scan


def test_the_page_list_is_read_through_an_index(big_job: Scraping) -> None:
    first_page = page_list(job=big_job).order_by("id")[:101]  # PageCursorPagination's query
    last_id = Page.objects.filter(scraping=big_job).order_by("id")[1000].pk
    next_page = page_list(job=big_job).filter(id__gt=last_id).order_by("id")[:101]
    for queryset in (first_page, next_page):
        plan, scan = page_scan(queryset)
        assert "Seq Scan on scrapings_page" not in plan, scan
        assert re.match(r"-> +Index Scan using (scrapings_page_pkey|page_scraping_id) ", scan), scan
        assert "Sort" not in plan, plan


@pytest.mark.parametrize("restricted", [False, True], ids=["all-jobs", "one-job"])
def test_search_reads_the_gin_index(owner: Any, big_job: Scraping, restricted: bool) -> None:
    ranking = page_ranking(owner=owner, text="kestrel", job=big_job if restricted else None)
    plan, _ = page_scan(ranking[:21])
    gin = next((line.strip() for line in plan.splitlines() if "page_search_vector" in line), plan)
    assert "Bitmap Index Scan on page_search_vector" in gin, gin
    assert "Bitmap Index Scan on page_summary_vector" in plan, plan  # summaries: own vector
    assert "Seq Scan on scrapings_page" not in plan, plan
    assert len(ranking) == 5


# --- Words on most of a job's pages --------------------------------------------------------


@pytest.fixture
def common_word_job(make_job: Callable[..., Scraping]) -> Scraping:
    """60 pages that all say `lorem` (a different number of times), 3 that say `kestrel`,
    duplicates and noindex pages among them, and the term totals the writer keeps."""
    job = make_job()
    Page.objects.bulk_create(
        Page(
            scraping=job, url=f"http://example.com/{n}", url_hash=str(n), outcome="fetched",
            title=f"Page {n}", text=" ".join(["lorem"] * (1 + n % 7) + ["ipsum"] * (n % 5))
            + (" kestrel" if n % 20 == 0 else ""),
            is_canonical=n % 9 != 0, noindex=n % 11 == 0, summary="lorem" if n % 13 == 0 else "",
        )
        for n in range(60)
    )  # fmt: skip
    JobTerm.objects.bulk_create(
        [
            JobTerm(scraping=job, term="lorem", total=240, pages=60),
            JobTerm(scraping=job, term="ipsum", total=120, pages=48),
            JobTerm(scraping=job, term="kestrel", total=3, pages=3),
        ]
    )
    return job


def test_a_word_on_most_pages_is_ranked_from_one_read_of_each_vector_with_the_same_rows(
    owner: Any, common_word_job: Scraping, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "FREQUENT_MIN_PAGES", 10)
    job = common_word_job
    assert search_module._is_frequent_in(job, "lorem")
    assert search_module._is_frequent_in(job, "Lorem OR ipsum")
    assert not search_module._is_frequent_in(job, "kestrel")
    assert not search_module._is_frequent_in(job, "lorem kestrel")
    assert not search_module._is_frequent_in(job, "the")  # not a term
    for text in ("lorem", "lorem ipsum", "lorem -ipsum", '"lorem ipsum"'):
        for include in (Inclusion(), Inclusion(duplicates=True, noindex=True)):
            ranking = page_ranking(owner=owner, text=text, job=job, include=include)
            for offset in (0, 7, 50):
                by_index = list(ranking[offset : offset + 8])
                by_scan = search_module._ranked_by_scan(
                    job=job, text=text, include=include, offset=offset, rows=8
                )
                assert by_scan == by_index, (text, include, offset)
    found = page_search(owner=owner, text="lorem", job=job, offset=0, limit=5)
    assert [hit.page_id for hit in found.hits] == [
        page_id for page_id, _ in page_ranking(owner=owner, text="lorem", job=job)[:5]
    ]
    assert found.has_more


def test_a_job_too_small_to_gain_is_searched_through_the_indexes(common_word_job: Scraping) -> None:
    assert search_module.FREQUENT_MIN_PAGES > 60
    assert not search_module._is_frequent_in(common_word_job, "lorem")
