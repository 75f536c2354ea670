"""Two owners crawl the same site at the same time; neither can read the other's data.

Every API route is enumerated from the URL conf (and the OpenAPI schema is checked against
it), so a new endpoint without an isolation check here fails this test by name. Each owner
calls every route and method with the other's job, page and key ids (404, the other's data
untouched) and with its own (only its own rows come back). No response to an owner ever
holds the other's job id or key prefix. The admin shows staff both owners' data, escaped,
and shows owners nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from isidorus.accounts.models import ApiKey, WebhookSecret
from isidorus.accounts.services import api_key_create
from isidorus.integrations.aws import s3_client
from isidorus.scrapings.models import Image, Link, Page, Scraping
from tests.e2e.crawling import wait_terminal
from tests.enrichment.helpers import image_bytes
from tests.support.site import FixtureSite, Route, html

pytestmark = pytest.mark.e2e

API = "api/v1/"
WORD = "cormorant"
HOSTILE_TITLE = "<script>alert('owner')</script>"
PASSWORD = "pw-isolation-123"
SHARED_IDEMPOTENCY_KEY = "the-same-key-for-both"


def _site_routes() -> dict[str, Route]:
    return {
        "/": Route(body=html(f"Cormorant colony {HOSTILE_TITLE}", """
            <p>The cormorant colony nests on the cliffs above the harbour.</p>
            <img src="/img/cormorant.png" alt="A cormorant drying its wings">
            <a href="/nests.html">nests</a> <a href="/feeding.html">feeding</a>""")),
        "/nests.html": Route(body=html("Nests", """
            <p>Each cormorant nest is built of seaweed &lt;img src=x onerror=alert(1)&gt;.</p>
            <a href="/">home</a>""")),
        "/feeding.html": Route(body=html("Feeding", """
            <p>A cormorant dives for fish and swims with its wings.</p>
            <img src="/img/cormorant.png" alt="Again">""")),
        "/img/cormorant.png": Route(body=image_bytes("PNG"), content_type="image/png"),
    }  # fmt: skip


@dataclass
class Owner:
    name: str
    client: APIClient
    raw_key: str
    key_id: int
    job_id: str = ""
    page_ids: set[int] = field(default_factory=set)
    image_ids: set[int] = field(default_factory=set)
    link_ids: set[int] = field(default_factory=set)

    @property
    def prefix(self) -> str:
        return self.raw_key.split(".")[0]

    @property
    def path_ids(self) -> dict[str, str]:
        return {
            "job_id": self.job_id,
            "page_id": str(min(self.page_ids)),
            "image_id": str(min(self.image_ids)),
            "key_id": str(self.key_id),
        }


def _owner(name: str) -> Owner:
    user = get_user_model().objects.create_user(username=name, password=PASSWORD)
    key, raw = api_key_create(owner=user, name=f"{name}-key")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return Owner(name=name, client=client, raw_key=raw, key_id=key.pk)


def _call(me: Owner, other: Owner, method: str, path: str, **kwargs: Any) -> Any:
    """One request as `me`; whatever it answers never names `other`'s job or key."""
    response = getattr(me.client, method.lower())(path, **kwargs)
    body = response.content.decode(errors="replace")  # image bytes too
    assert other.job_id not in body, (method, path)
    assert other.prefix not in body, (method, path)
    return response


@pytest.fixture
def owners(start_worker: Any, enrichment_on: dict[str, str]) -> Iterator[tuple[Owner, Owner]]:
    alice, bob = _owner("alice"), _owner("bob")
    with FixtureSite(_site_routes()) as site:
        worker = start_worker(name="isolation", concurrency=3, env=enrichment_on)  # all queues
        # Both at once, even with the same idempotency key: two jobs, one each.
        for owner in (alice, bob):
            started = owner.client.post(
                "/api/v1/scrapings/", {"url": site.url("/"), "depth": 1}, format="json",
                HTTP_IDEMPOTENCY_KEY=SHARED_IDEMPOTENCY_KEY,
            )  # fmt: skip
            assert started.status_code == 202, started.json()
            owner.job_id = started.json()["id"]
        assert alice.job_id != bob.job_id
        for owner in (alice, bob):
            assert wait_terminal(owner.job_id)["status"] == "COMPLETED"
            owner.page_ids = set(
                Page.objects.filter(scraping_id=owner.job_id).values_list("id", flat=True)
            )
            owner.image_ids = set(
                Image.objects.filter(scraping_id=owner.job_id).values_list("id", flat=True)
            )
            owner.link_ids = set(
                Link.objects.filter(scraping_id=owner.job_id).values_list("id", flat=True)
            )
            assert len(owner.page_ids) == 3
            assert len(owner.image_ids) == 2
            assert owner.link_ids
        yield alice, bob
        # Both jobs are terminal, so the worker holds no message: killing it loses nothing
        # and saves the seconds of a warm shutdown.
        worker.kill()


def _results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


# --- What "only my own" means on each route, called with my own ids --------------------


def _own_jobs(me: Owner, other: Owner, path: str) -> None:
    assert {job["id"] for job in _results(_call(me, other, "GET", path))} == {me.job_id}


def _own_start_replayed(me: Owner, other: Owner, path: str) -> None:
    replay = _call(
        me, other, "POST", path, data={"url": "http://127.0.0.1:9/", "depth": 1}, format="json",
        HTTP_IDEMPOTENCY_KEY=SHARED_IDEMPOTENCY_KEY,
    )  # fmt: skip
    assert (replay.status_code, replay.json()["id"]) == (200, me.job_id)


def _own_job_detail(me: Owner, other: Owner, path: str) -> None:
    detail = _call(me, other, "GET", path)
    assert detail.status_code == 200
    assert (detail.json()["id"], detail.json()["counters"]["fetched"]) == (me.job_id, 3)


def _own_job_delete(me: Owner, other: Owner, path: str) -> None:
    assert _call(me, other, "DELETE", path).status_code == 204
    # The image bytes both jobs stored under one content key stay for the other's job.
    s3 = s3_client()
    for image in Image.objects.filter(scraping_id=other.job_id):
        assert image.s3_key
        assert s3.head_object(Bucket=django_settings.S3_BUCKET, Key=image.s3_key)
    assert Page.objects.filter(scraping_id=other.job_id).count() == 3


def _own_cancel(me: Owner, other: Owner, path: str) -> None:
    assert _call(me, other, "POST", path).status_code == 409  # mine, and finished


def _own_pages(me: Owner, other: Owner, path: str) -> None:
    pages = _results(_call(me, other, "GET", path, data={"page_size": 100}))
    assert {page["id"] for page in pages} == me.page_ids


def _own_page(me: Owner, other: Owner, path: str) -> None:
    page = _call(me, other, "GET", path)
    assert page.status_code == 200
    assert page.json()["id"] == min(me.page_ids)
    # My job with the other's page id: that page is not in my job.
    foreign = path.replace(f"/pages/{min(me.page_ids)}/", f"/pages/{min(other.page_ids)}/")
    assert _call(me, other, "GET", foreign).status_code == 404


def _own_terms(me: Owner, other: Owner, path: str) -> None:
    terms = _results(_call(me, other, "GET", path, data={"prefix": WORD[:4]}))
    assert [(term["term"], term["pages"]) for term in terms] == [(WORD, 3)]


def _own_links(me: Owner, other: Owner, path: str) -> None:
    links = _results(_call(me, other, "GET", path, data={"page_size": 100}))
    assert {link["id"] for link in links} == me.link_ids
    assert {link["page_id"] for link in links} <= me.page_ids


def _own_images(me: Owner, other: Owner, path: str) -> None:
    images = _results(_call(me, other, "GET", path))
    assert {image["id"] for image in images} == me.image_ids
    assert all(image["description"] for image in images)


def _own_image_content(me: Owner, other: Owner, path: str) -> None:
    mine = _call(me, other, "GET", path)
    assert mine.status_code == 200
    assert mine["Content-Type"].startswith("image/")
    foreign = path.replace(f"/images/{min(me.image_ids)}/", f"/images/{min(other.image_ids)}/")
    assert _call(me, other, "GET", foreign).status_code == 404


def _own_export(me: Owner, other: Owner, path: str) -> None:
    response = me.client.get(path, {"format": "jsonl"})
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert other.job_id not in body
    assert other.prefix not in body
    *pages, summary = [json.loads(line) for line in body.splitlines()]
    assert {page["type"] for page in pages} == {"page"}
    assert (summary["type"], summary["job"], summary["finished"]) == ("summary", me.job_id, True)
    assert summary["pages"] == len(pages) == len(me.page_ids)
    foreign = _call(me, other, "GET", path.replace(me.job_id, other.job_id))
    assert foreign.status_code == 404


def _own_webhook_secret(me: Owner, other: Owner, path: str) -> None:
    created = _call(me, other, "POST", path)
    assert created.status_code == 201
    mine = WebhookSecret.objects.get(owner__username=me.name)
    assert mine.secret == created.json()["secret"]
    theirs = WebhookSecret.objects.filter(owner__username=other.name).first()
    assert theirs is None or theirs.secret != mine.secret


def _own_webhook_secret_state(me: Owner, other: Owner, path: str) -> None:
    state = _call(me, other, "GET", path).json()
    assert state["exists"] == WebhookSecret.objects.filter(owner__username=me.name).exists()
    assert "secret" not in state


def _own_deliveries(me: Owner, other: Owner, path: str) -> None:
    assert _results(_call(me, other, "GET", path)) == []
    foreign = _call(me, other, "GET", path.replace(me.job_id, other.job_id))
    assert foreign.status_code == 404


def _own_search(me: Owner, other: Owner, path: str) -> None:
    hits = _results(_call(me, other, "GET", path, data={"q": WORD, "page_size": 50}))
    assert {hit["scraping"] for hit in hits} == {me.job_id}
    assert {hit["page"]["id"] for hit in hits} == me.page_ids
    assert all("<script>" not in hit["snippet"] for hit in hits)
    scoped = _call(me, other, "GET", path, data={"q": WORD, "scraping": other.job_id})
    assert scoped.status_code == 404


def _own_keys(me: Owner, other: Owner, path: str) -> None:
    assert {key["id"] for key in _results(_call(me, other, "GET", path))} == {me.key_id}


def _own_key_created(me: Owner, other: Owner, path: str) -> None:
    created = _call(me, other, "POST", path, data={"name": "second"}, format="json")
    assert created.status_code == 201
    second = APIClient()
    second.credentials(HTTP_X_API_KEY=created.json()["key"])
    assert {job["id"] for job in _results(second.get("/api/v1/scrapings/"))} == {me.job_id}
    assert second.delete(f"/api/v1/keys/{created.json()['id']}/").status_code == 204


def _own_key_revoke(me: Owner, other: Owner, path: str) -> None:
    assert _call(me, other, "DELETE", path).status_code == 204
    assert me.client.get("/api/v1/keys/").status_code == 401
    assert other.client.get("/api/v1/keys/").status_code == 200


def _schema(me: Owner, other: Owner, path: str) -> None:
    assert _call(me, other, "GET", path, data={"format": "json"}).status_code == 200


OWN_CHECKS: dict[tuple[str, str], Callable[[Owner, Owner, str], None]] = {
    ("scrapings/", "GET"): _own_jobs,
    ("scrapings/", "POST"): _own_start_replayed,
    ("scrapings/<str:job_id>/", "GET"): _own_job_detail,
    ("scrapings/<str:job_id>/", "DELETE"): _own_job_delete,
    ("scrapings/<str:job_id>/cancel/", "POST"): _own_cancel,
    ("scrapings/<str:job_id>/pages/", "GET"): _own_pages,
    ("scrapings/<str:job_id>/pages/<str:page_id>/", "GET"): _own_page,
    ("scrapings/<str:job_id>/terms/", "GET"): _own_terms,
    ("scrapings/<str:job_id>/links/", "GET"): _own_links,
    ("scrapings/<str:job_id>/images/", "GET"): _own_images,
    ("scrapings/<str:job_id>/images/<str:image_id>/content/", "GET"): _own_image_content,
    ("scrapings/<str:job_id>/export/", "GET"): _own_export,
    ("scrapings/<str:job_id>/webhook-deliveries/", "GET"): _own_deliveries,
    ("webhook-secret/", "GET"): _own_webhook_secret_state,
    ("webhook-secret/", "POST"): _own_webhook_secret,
    ("search/", "GET"): _own_search,
    ("keys/", "GET"): _own_keys,
    ("keys/", "POST"): _own_key_created,
    ("keys/<int:key_id>/", "DELETE"): _own_key_revoke,
    ("schema/", "GET"): _schema,
}
# Run once, last, by the first owner: they remove what the other checks read.
DESTRUCTIVE = [("scrapings/<str:job_id>/", "DELETE"), ("keys/<int:key_id>/", "DELETE")]
_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def _api_routes() -> set[tuple[str, str]]:
    """(route under /api/v1/, method) for every API view in the URL conf."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    routes = set()
    for route, callback in walk(get_resolver().url_patterns, ""):
        if route.startswith(API):
            view = callback.view_class
            for method in view.http_method_names:
                if method not in ("head", "options", "trace") and hasattr(view, method):
                    routes.add((route.removeprefix(API), method.upper()))
    return routes


def _fill(route: str, ids: dict[str, str]) -> str:
    return "/" + API + _PARAMETER.sub(lambda match: ids[match.group(1)], route)


def _other_untouched(other: Owner) -> None:
    job = Scraping.objects.get(pk=other.job_id)
    assert job.status == "COMPLETED"
    assert Page.objects.filter(scraping=job).count() == 3
    assert ApiKey.objects.get(pk=other.key_id).revoked_at is None
    assert other.client.get(f"/api/v1/scrapings/{other.job_id}/").status_code == 200


def test_every_api_route_has_an_isolation_check_and_the_schema_documents_no_other() -> None:
    routes = _api_routes()
    unchecked = routes - set(OWN_CHECKS)
    assert routes == set(OWN_CHECKS), f"routes without an isolation check: {unchecked}"
    documented = {(_PARAMETER.sub(r"{\1}", route), method) for route, method in routes}
    schema = APIClient().get("/api/v1/schema/", {"format": "json"}).json()
    for path, operations in schema["paths"].items():
        for method in operations:
            assert (path.removeprefix("/" + API), method.upper()) in documented, (path, method)


def _check_every_api_route(owners: tuple[Owner, Owner]) -> None:
    routes = _api_routes()
    for me, other in (owners, owners[::-1]):
        for route, method in sorted(routes):
            if _PARAMETER.search(route):
                foreign = _call(me, other, method, _fill(route, other.path_ids))
                assert foreign.status_code == 404, (me.name, method, route, foreign.content)
                assert foreign.json()["error"]["code"] == "not_found"
            if (route, method) not in DESTRUCTIVE:
                OWN_CHECKS[(route, method)](me, other, _fill(route, me.path_ids))
        _other_untouched(other)
    me, other = owners
    for route, method in DESTRUCTIVE:
        OWN_CHECKS[(route, method)](me, other, _fill(route, me.path_ids))
    _other_untouched(other)


def _check_the_admin(alice: Owner, bob: Owner) -> None:
    staff = Client()
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    assert staff.login(username="root", password=PASSWORD)
    jobs = staff.get("/admin/scrapings/scraping/").content.decode()
    assert alice.job_id in jobs
    assert bob.job_id in jobs
    home = Page.objects.get(scraping_id=bob.job_id, depth=0)
    page = staff.get(f"/admin/scrapings/page/{home.pk}/change/").content.decode()
    assert HOSTILE_TITLE not in page
    assert "&lt;script&gt;alert(&#x27;owner&#x27;)&lt;/script&gt;" in page

    owner = Client()
    login = owner.post("/admin/login/", {"username": "alice", "password": PASSWORD})
    assert login.status_code == 200  # refused: not staff
    for url in ("/admin/scrapings/scraping/", "/admin/scrapings/page/", "/admin/accounts/apikey/"):
        response = owner.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.django_db(transaction=True)
def test_two_owners_crawling_the_same_site_at_once_see_only_their_own_data(
    owners: tuple[Owner, Owner], settings: Any
) -> None:
    # A fast hasher for the admin logins: this test counts what is shown, not hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _check_the_admin(*owners)
    _check_every_api_route(owners)
