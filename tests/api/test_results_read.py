"""Reading a job's results back: its terms over all pages, its links and its images."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from isidorus.scrapings.models import Image, Page, Scraping
from isidorus.scrapings.selectors import LinkRows
from isidorus.scrapings.services.write import job_terms_add
from tests.support.links import add_link

pytestmark = pytest.mark.django_db
SCRAPINGS_URL = "/api/v1/scrapings/"


def add_terms(page: Page, counts: dict[str, int]) -> None:
    """As the writer stores them: on the page, and added to the job's totals."""
    page.terms = counts
    page.save(update_fields=["terms"])
    job_terms_add(str(page.scraping_id), [counts])


def add_image(page: Page, url: str, **fields: Any) -> Image:
    return Image.objects.create(scraping_id=page.scraping_id, page=page, url=url, **fields)


def results_url(job: Scraping, kind: str) -> str:
    return f"{SCRAPINGS_URL}{job.pk}/{kind}/"


# --- Terms ---------------------------------------------------------------------------------


def test_terms_are_totalled_over_the_pages_most_frequent_first(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    home = make_page(job, "http://example.com/")
    about = make_page(job, "http://example.com/about")
    add_terms(home, {"crawler": 5, "python": 2, "zebra": 1})
    add_terms(about, {"crawler": 1, "python": 4, "async": 6})
    # Another job's terms never count.
    add_terms(make_page(make_job(), "http://example.com/x"), {"crawler": 100})

    response = api.get(results_url(job, "terms"))

    assert response.status_code == 200
    assert response.json() == {
        "results": [
            # crawler and async tie at 6: the term breaks the tie.
            {"term": "async", "count": 6, "pages": 1},
            {"term": "crawler", "count": 6, "pages": 2},
            {"term": "python", "count": 6, "pages": 2},
            {"term": "zebra", "count": 1, "pages": 1},
        ]
    }


def test_terms_take_the_top_n_and_default_to_fifty(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    add_terms(make_page(job, "http://example.com/"), {f"term{n:03d}": n + 1 for n in range(60)})

    default = api.get(results_url(job, "terms")).json()["results"]
    top_three = api.get(results_url(job, "terms"), {"limit": 3}).json()["results"]

    assert len(default) == 50
    assert [term["term"] for term in top_three] == ["term059", "term058", "term057"]


def test_the_term_prefix_is_case_insensitive_and_literal(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    # Terms are stored case-folded (Straße as strasse).
    add_terms(
        make_page(job, "http://example.com/"),
        {"cat": 3, "catalog": 2, "dog": 9, "strasse": 1, "c_t": 1},
    )

    def terms(prefix: str) -> list[str]:
        response = api.get(results_url(job, "terms"), {"prefix": prefix})
        assert response.status_code == 200
        return [term["term"] for term in response.json()["results"]]

    assert terms("CAT") == ["cat", "catalog"]
    assert terms("Straße") == ["strasse"]
    # LIKE wildcards in the prefix are plain characters.
    assert terms("c_") == ["c_t"]
    assert terms("%") == []


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "501"},
        {"limit": "ten"},
        {"prefix": "x" * 101},
        {"prefix": "   "},
        {"prefix": "a\x00b"},
    ],
)
def test_a_bad_term_filter_is_400(
    api: APIClient, make_job: Callable[..., Scraping], query: dict[str, str]
) -> None:
    response = api.get(results_url(make_job(), "terms"), query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["fields"]) == set(query)


def test_the_terms_cost_three_queries_however_many_pages(
    api: APIClient,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    django_assert_num_queries: Any,
) -> None:
    job = make_job()
    for n in range(10):
        add_terms(make_page(job, f"http://example.com/{n}"), {"crawler": n + 1, f"only{n}": 1})
    api.get(results_url(job, "terms"))  # stamps the key's last use once
    with django_assert_num_queries(3):  # the key; the job; the totals
        response = api.get(results_url(job, "terms"))
    assert response.json()["results"][0] == {"term": "crawler", "count": 55, "pages": 10}


# --- Links ---------------------------------------------------------------------------------


def test_links_are_edges_from_their_source_page_in_write_order(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    home = make_page(job, "http://example.com/")
    about = make_page(job, "http://example.com/about")
    first = add_link(home, "http://example.com/about")
    second = add_link(home, "http://other.org/", internal=False, nofollow=True)
    third = add_link(about, "http://example.com/")
    add_link(make_page(make_job(), "http://example.com/x"), "http://example.com/elsewhere")

    body = api.get(results_url(job, "links")).json()

    assert (body["next"], body["previous"]) == (None, None)
    assert body["results"] == [
        {
            "id": first.pk,
            "page_id": home.pk,
            "source_url": "http://example.com/",
            "target_url": "http://example.com/about",
            "internal": True,
            "nofollow": False,
        },
        {
            "id": second.pk,
            "page_id": home.pk,
            "source_url": "http://example.com/",
            "target_url": "http://other.org/",
            "internal": False,
            "nofollow": True,
        },
        {
            "id": third.pk,
            "page_id": about.pk,
            "source_url": "http://example.com/about",
            "target_url": "http://example.com/",
            "internal": True,
            "nofollow": False,
        },
    ]


def test_links_filter_by_internal(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    page = make_page(job, "http://example.com/")
    inside = add_link(page, "http://example.com/a")
    outside = add_link(page, "http://other.org/", internal=False)

    def ids(value: str) -> list[int]:
        results = api.get(results_url(job, "links"), {"internal": value}).json()["results"]
        return [link["id"] for link in results]

    assert ids("true") == [inside.pk]
    assert ids("false") == [outside.pk]


@pytest.mark.parametrize("value", ["yes", "1", "True", "maybe", "true,false"])
def test_an_internal_filter_other_than_true_or_false_is_400(
    api: APIClient, make_job: Callable[..., Scraping], value: str
) -> None:
    response = api.get(results_url(make_job(), "links"), {"internal": value})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"internal"}


def test_a_walk_through_the_links_sees_each_once_while_more_are_written(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    page = make_page(job, "http://example.com/")
    other_page = make_page(make_job(), "http://example.com/x")
    expected = [add_link(page, f"http://example.com/{n}").pk for n in range(7)]
    seen: list[int] = []
    url: str | None = f"{results_url(job, 'links')}?page_size=3"
    fetches = 0
    while url is not None:
        body = api.get(url).json()
        seen += [link["id"] for link in body["results"]]
        url = body["next"]
        fetches += 1
        assert fetches < 20, "the walk does not end"
        if fetches <= 3:
            # The crawl is still writing: this job's links and another job's.
            expected += [add_link(page, f"http://example.com/new{fetches}-{n}").pk for n in (1, 2)]
            add_link(other_page, f"http://example.com/theirs{fetches}")
    assert seen == expected
    assert len(set(seen)) == len(seen) == 13


def test_links_walk_back_through_previous_and_skip_pages_without_external_links(
    api: APIClient,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(LinkRows, "PAGES_PER_READ", 1)  # each answer reads several chunks
    job = make_job()
    ids = []
    external = []
    for n in range(4):
        page = make_page(job, f"http://example.com/{n}")
        ids += [add_link(page, f"http://example.com/{n}/{m}").pk for m in range(3)]
        if n % 2:
            external.append(add_link(page, f"http://other.org/{n}", internal=False).pk)
    forward: list[int] = []
    url: str | None = f"{results_url(job, 'links')}?page_size=4&internal=true"
    while url is not None:
        body = api.get(url).json()
        forward += [link["id"] for link in body["results"]]
        last = body
        url = body["next"]
    assert forward == ids
    backward: list[int] = []
    url = last["previous"]
    while url is not None:
        body = api.get(url).json()
        backward = [link["id"] for link in body["results"]] + backward
        url = body["previous"]
    assert backward == ids[: len(ids) - len(last["results"])]
    found = api.get(results_url(job, "links"), {"internal": "false", "page_size": 1}).json()
    following = api.get(found["next"]).json()
    assert [found["results"][0]["id"], following["results"][0]["id"]] == external
    assert following["next"] is None


def test_the_links_cost_three_queries_however_many_pages(
    api: APIClient,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    django_assert_num_queries: Any,
) -> None:
    job = make_job()
    for n in range(8):
        page = make_page(job, f"http://example.com/{n}")
        add_link(page, f"http://example.com/{n}/a")
        add_link(page, "http://other.org/", internal=False)
    api.get(results_url(job, "links"))
    with django_assert_num_queries(3) as captured:  # the key; the job; links with sources
        response = api.get(results_url(job, "links"))
    assert len(response.json()["results"]) == 16
    assert response.json()["results"][15]["source_url"] == "http://example.com/7"
    # The source page is joined, not read whole: its text stays out of the list.
    assert '"text"' not in captured.captured_queries[-1]["sql"]


# --- Images --------------------------------------------------------------------------------


def test_images_list_every_field_empty_until_enrichment_fills_it(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    page = make_page(job, "http://example.com/")
    found = add_image(page, "http://example.com/new.png", alt="new", caption="Fresh")
    stored = add_image(
        page,
        "http://example.com/cat.png",
        alt="a cat",
        title="Tom",
        outcome="stored",
        s3_key="images/ab/abcd.png",
        sha256="ab" * 32,
        format="png",
        width=640,
        height=480,
        bytes=12345,
        description="A grey cat asleep on a sofa.",
        described_by_llm=True,
    )
    failed = add_image(page, "http://example.com/big.png", outcome="failed", reason="too_large")
    add_image(make_page(make_job(), "http://example.com/x"), "http://example.com/theirs.png")

    body = api.get(results_url(job, "images")).json()

    assert [image["id"] for image in body["results"]] == [found.pk, stored.pk, failed.pk]
    assert body["results"][0] == {
        "id": found.pk,
        "page_id": page.pk,
        "url": "http://example.com/new.png",
        "alt": "new",
        "title": "",
        "caption": "Fresh",
        "outcome": "",
        "reason": "",
        "s3_key": "",
        "sha256": "",
        "format": "",
        "width": None,
        "height": None,
        "bytes": None,
        "description": "",
        "described_by_llm": False,
        "content_url": None,  # not stored
    }
    assert body["results"][1] == {
        "id": stored.pk,
        "page_id": page.pk,
        "url": "http://example.com/cat.png",
        "alt": "a cat",
        "title": "Tom",
        "caption": "",
        "outcome": "stored",
        "reason": "",
        "s3_key": "images/ab/abcd.png",
        "sha256": "ab" * 32,
        "format": "png",
        "width": 640,
        "height": 480,
        "bytes": 12345,
        "description": "A grey cat asleep on a sofa.",
        "described_by_llm": True,
        "content_url": f"http://testserver/api/v1/scrapings/{job.pk}/images/{stored.pk}/content/",
    }
    assert (body["results"][2]["outcome"], body["results"][2]["reason"]) == ("failed", "too_large")


def test_images_paginate_with_a_cursor(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    page = make_page(job, "http://example.com/")
    images = [add_image(page, f"http://example.com/{n}.png").pk for n in range(5)]
    first = api.get(results_url(job, "images"), {"page_size": 2}).json()
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()
    assert [image["id"] for body in (first, second, third) for image in body["results"]] == images
    assert third["next"] is None
    assert [image["id"] for image in api.get(third["previous"]).json()["results"]] == images[2:4]


def test_the_images_cost_three_queries_however_many_pages(
    api: APIClient,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    django_assert_num_queries: Any,
) -> None:
    job = make_job()
    for n in range(6):
        page = make_page(job, f"http://example.com/{n}")
        add_image(page, f"http://example.com/{n}/a.png")
        add_image(page, f"http://example.com/{n}/b.png")
    api.get(results_url(job, "images"))
    with django_assert_num_queries(3):  # the key; the job; one page of images
        response = api.get(results_url(job, "images"))
    assert len(response.json()["results"]) == 12


# --- Shared rules --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["links", "images"])
@pytest.mark.parametrize("page_size", ["0", "101", "ten", "-1", "1" * 30])
def test_a_bad_page_size_is_400(
    api: APIClient, make_job: Callable[..., Scraping], kind: str, page_size: str
) -> None:
    response = api.get(results_url(make_job(), kind), {"page_size": page_size})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"page_size"}


@pytest.mark.parametrize("kind", ["links", "images"])
@pytest.mark.parametrize("position", [b"p=12x", b"p=-3", b"o=-5"])
def test_a_forged_cursor_is_400(
    api: APIClient, make_job: Callable[..., Scraping], kind: str, position: bytes
) -> None:
    cursor = base64.b64encode(position).decode()
    response = api.get(results_url(make_job(), kind), {"cursor": cursor})
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"cursor"}


@pytest.mark.parametrize("kind", ["terms", "links", "images"])
def test_another_owners_results_are_404(
    api: APIClient,
    make_user: Any,
    make_job: Callable[..., Scraping],
    make_page: Callable[..., Page],
    kind: str,
) -> None:
    theirs = make_job(owner=make_user("mallory"))
    page = make_page(theirs, "http://example.com/")
    add_terms(page, {"secret": 1})
    add_link(page, "http://example.com/secret")
    add_image(page, "http://example.com/secret.png")
    response = api.get(results_url(theirs, kind))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# A fixed id that no job has (test ids must be the same in every pytest-xdist process).
UNKNOWN_JOB_ID = "2d70d15d-5b77-4cdb-9d0c-fd9d068d21f4"


@pytest.mark.parametrize("kind", ["terms", "links", "images"])
@pytest.mark.parametrize("job_id", ["not-a-uuid", UNKNOWN_JOB_ID])
def test_unknown_or_malformed_job_ids_are_a_json_404(
    api: APIClient, kind: str, job_id: str
) -> None:
    response = api.get(f"{SCRAPINGS_URL}{job_id}/{kind}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("kind", ["terms", "links", "images"])
def test_results_need_an_api_key(make_job: Callable[..., Scraping], kind: str) -> None:
    assert APIClient().get(results_url(make_job(), kind)).status_code == 401


def test_the_schema_documents_the_result_endpoints() -> None:
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    validate_schema(schema)  # type: ignore[no-untyped-call]
    for kind in ("terms", "links", "images"):
        operation = schema["paths"][f"/api/v1/scrapings/{{job_id}}/{kind}/"]["get"]
        assert {"200", "400", "404"} <= set(operation["responses"]), kind
    components = schema["components"]["schemas"]
    assert set(components["JobImage"]["properties"]) >= {"s3_key", "described_by_llm"}
    assert set(components["JobLink"]["properties"]) >= {"page_id", "source_url"}


def test_a_walk_through_the_pages_sees_each_once_while_more_are_written(
    api: APIClient, make_job: Callable[..., Scraping], make_page: Callable[..., Page]
) -> None:
    job = make_job()
    other_job = make_job()
    expected = [make_page(job, f"http://example.com/{n}").pk for n in range(7)]
    seen: list[int] = []
    url: str | None = f"/api/v1/scrapings/{job.pk}/pages/?page_size=3"
    fetches = 0
    while url is not None:
        body = api.get(url).json()
        seen += [page["id"] for page in body["results"]]
        url = body["next"]
        fetches += 1
        assert fetches < 20, "the walk does not end"
        if fetches <= 3:
            # The crawl is still writing: this job's pages and another job's.
            expected += [make_page(job, f"http://example.com/new{fetches}-{n}").pk for n in (1, 2)]
            make_page(other_job, f"http://example.com/theirs{fetches}")
    assert seen == expected
    assert len(set(seen)) == len(seen) == 13
