"""scrape_batch against a real local site: a redelivery with the same delivery token or
another one, a stopped job, and one page twice in a batch. Real Redis, PostgreSQL, SQS and
S3 (LocalStack), DynamoDB (moto); no workers: the service is called directly, and what it
publishes is taken from the queues and inspected (or handed to write_batch)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from config.queues import SCRAPER, WRITER
from isidorus import job_state
from isidorus.contracts import PageEntry
from isidorus.crawling.urls import url_fingerprint
from isidorus.scrapings.models import Page, Scraping
from isidorus.scrapings.services.discover import batch_size_for
from isidorus.scrapings.services.lifecycle import scraping_cancel
from isidorus.scrapings.services.scrape import ScrapeReport, scrape_batch
from isidorus.scrapings.services.write import write_batch
from isidorus.scrapings.staging import stage_get
from tests.core.conftest import NewJob
from tests.support.batches import take, take_tasks
from tests.support.site import FixtureSite, Route, html
from tests.support.waiting import wait_for

pytestmark = pytest.mark.django_db


def entry(url: str, depth: int = 0, parent: str = "") -> PageEntry:
    """A scrape message's entry."""
    return PageEntry(url, depth, parent)


def entry_url(wire_entry: dict[str, Any]) -> str:
    """The URL of an entry as a published message carries it."""
    return PageEntry.from_wire(wire_entry).url


def item(url: str) -> str:
    return job_state.page_item(url_fingerprint(url))


def links(*paths: str) -> str:
    return "".join(f'<a href="{path}">{path}</a>' for path in paths)


@pytest.fixture(scope="module")
def served_site() -> Iterator[FixtureSite]:
    """One server for the module: stopping one waits out its half-second poll."""
    routes = {
        "/": Route(body=html("Home", f"<p>lighthouses</p>{links('/a.html', '/b.html')}")),
        "/a.html": Route(body=html("A", f"<p>keepers</p>{links('/b.html', '/c.html')}")),
        "/b.html": Route(body=html("B", "<p>lamps</p>")),
        "/c.html": Route(body=html("C", "<p>rocks</p>")),
    }
    with FixtureSite(routes) as fixture_site:
        yield fixture_site


@pytest.fixture
def site(served_site: FixtureSite) -> FixtureSite:
    with served_site._lock:
        served_site.requests.clear()
    return served_site


@pytest.fixture
def job(new_job: NewJob, site: FixtureSite) -> str:
    """A launched job of depth 2 on the site: its start URL admitted and open."""
    job_id = new_job(site.url("/"), depth=2)
    admit(job_id, site.url("/"), depth=0)
    return job_id


def admit(job_id: str, url: str, *, depth: int, parent: str = "") -> None:
    candidate = job_state.Candidate(
        fingerprint=url_fingerprint(url),
        depth=depth,
        fetch=True,
        url=url,
        parent_url=parent,
        parent_fingerprint=url_fingerprint(parent) if parent else "",
    )
    codes = job_state.admit(
        job_id=job_id, candidates=[candidate], max_pages=100, quota_key="quota:{core}",
        quota_limit=1000, quota_ttl=3600, max_depth=2,
    )  # fmt: skip
    assert codes == [job_state.Code.ADMITTED]


def scrape(job_id: str, entries: list[PageEntry], token: str) -> ScrapeReport:
    return scrape_batch(job_id=job_id, entries=entries, delivery_token=token)


def published(stage: str) -> list[dict[str, Any]]:
    """The bodies of the messages published to a stage's queue (taken off it)."""
    return [body for _, body in take(stage)]


def scraped_urls(bodies: list[dict[str, Any]]) -> list[str]:
    return sorted(entry_url(e) for body in bodies for e in body["items"])


def test_a_first_delivery_fetches_admits_the_links_and_hands_the_batch_to_the_writer(
    job: str, site: FixtureSite
) -> None:
    report = scrape(job, [entry(site.url("/"))], "delivery-1")
    assert (report.claimed, report.dropped, report.children) == (1, 0, 2)
    assert site.page_paths() == ["/"]
    children = published(SCRAPER)
    assert scraped_urls(children) == [site.url("/a.html"), site.url("/b.html")]
    assert {(e["d"], e["p"]) for body in children for e in body["items"]} == {(1, site.url("/"))}
    assert set(job_state.open_items(job)) == {
        item(site.url("/")), item(site.url("/a.html")), item(site.url("/b.html")),
    }  # fmt: skip
    (writer,) = published(WRITER)
    assert (writer["batch"], writer["items"]) == (report.batch_id, [item(site.url("/"))])
    pages = stage_get(writer["key"])["pages"]
    assert [(p["url"], p["outcome"], p["title"]) for p in pages] == [
        (site.url("/"), "fetched", "Home")
    ]
    assert sorted(link[0] for link in pages[0]["links"]) == [
        site.url("/a.html"), site.url("/b.html"),
    ]  # fmt: skip


def test_a_redelivery_with_the_same_token_scrapes_again_and_republishes_its_children(
    job: str, site: FixtureSite, redis_clean: Any
) -> None:
    """The worker died after publishing nothing, or after publishing some of it: the
    same message comes back with the same id, and its run re-publishes every child."""
    first = scrape(job, [entry(site.url("/"))], "delivery-1")
    take(SCRAPER)
    take(WRITER)
    again = scrape(job, [entry(site.url("/"))], "delivery-1")
    assert (again.claimed, again.dropped, again.children) == (1, 0, 2)
    assert again.batch_id == first.batch_id  # the writer will see one batch
    assert site.page_paths() == ["/", "/"]
    assert scraped_urls(published(SCRAPER)) == [site.url("/a.html"), site.url("/b.html")]
    assert [body["batch"] for body in published(WRITER)] == [first.batch_id]
    assert int(redis_clean.get(f"job:{{{job}}}:budget")) == 3  # not charged twice
    assert job_state.open_count(job) == 3


def test_a_duplicate_delivery_with_another_token_is_dropped_unfetched(
    job: str, site: FixtureSite
) -> None:
    scrape(job, [entry(site.url("/"))], "delivery-1")
    take(SCRAPER)
    take(WRITER)
    duplicate = scrape(job, [entry(site.url("/"))], "delivery-2")
    assert (duplicate.claimed, duplicate.dropped, duplicate.children) == (0, 1, 0)
    assert duplicate.batch_id == ""
    assert site.page_paths() == ["/"]
    assert published(SCRAPER) == []
    assert published(WRITER) == []


def test_a_delivery_after_its_batch_was_written_is_dropped_whatever_its_token(
    job: str, site: FixtureSite
) -> None:
    scrape(job, [entry(site.url("/"))], "delivery-1")
    take(SCRAPER)
    (writer,) = published(WRITER)
    written = write_batch(
        job_id=job, batch_id=writer["batch"], key=writer["key"], items=writer["items"]
    )
    assert (written.inserted_pages, written.remaining_open) == (1, 2)
    for token in ("delivery-1", "delivery-2"):
        late = scrape(job, [entry(site.url("/"))], token)
        assert (late.claimed, late.dropped) == (0, 1)
    assert site.page_paths() == ["/"]
    assert published(WRITER) == []


def test_a_delivery_with_nothing_left_to_claim_still_frees_its_slot_in_the_jobs_line(
    job: str, site: FixtureSite, settings: Any
) -> None:
    """A page offered again (a shorter path) can be done by the time its second message
    runs: that message must still free its slot and release the job's next held batch."""
    settings.CRAWL_PACE_MIN_BATCHES, settings.CRAWL_PACE_FACTOR = 2, 0.01  # 2 in line
    settings.CRAWL_PACE_SMALL_BACKLOG = 0  # no "small backlog goes at once"
    scrape(job, [entry(site.url("/"))], "delivery-1")
    ((child_token, _),) = take_tasks(SCRAPER)  # one message of both children, in line
    (writer,) = published(WRITER)
    write_batch(job_id=job, batch_id=writer["batch"], key=writer["key"], items=writer["items"])
    # The line has 2 slots: one more batch goes, the next waits.
    more = ['{"more":1}', '{"more":2}']
    assert [
        batch.wire for batch in job_state.pace(stage=SCRAPER, job_id=job, token="seed", new=more)
    ] == more[:1]

    late = scrape(job, [entry(site.url("/"))], child_token)  # "/" is written and closed

    assert (late.claimed, late.dropped) == (0, 1)
    assert published(SCRAPER) == [{"more": 2}]


@pytest.mark.parametrize("how", ["cancelled", "finished"])
def test_a_stopped_jobs_batch_is_dropped_unfetched(
    job: str, site: FixtureSite, redis_clean: Any, how: str
) -> None:
    admit(job, site.url("/a.html"), depth=1, parent=site.url("/"))
    if how == "cancelled":
        scraping_cancel(job=Scraping.objects.get(pk=job))
    else:
        job_state.set_flag(job, job_state.Flag.STOPPED)  # as job_finish leaves it
    entries = [entry(site.url("/")), entry(site.url("/a.html"), 1, site.url("/"))]
    report = scrape(job, entries, "delivery-1")
    assert (report.claimed, report.dropped, report.children) == (0, 2, 0)
    assert site.page_paths() == []
    assert list(redis_clean.scan_iter(match=f"job:{{{job}}}:claim:*")) == []
    assert published(SCRAPER) == []
    assert published(WRITER) == []
    assert not Page.objects.filter(scraping_id=job).exists()


def test_a_page_twice_in_one_batch_is_fetched_staged_and_closed_once(
    job: str, site: FixtureSite
) -> None:
    admit(job, site.url("/a.html"), depth=1, parent=site.url("/"))
    twice = entry(site.url("/a.html"), 1, site.url("/"))
    report = scrape(job, [twice, twice], "delivery-1")
    assert (report.claimed, report.dropped, report.children) == (1, 0, 2)
    assert site.page_paths() == ["/a.html"]
    (writer,) = published(WRITER)
    assert writer["items"] == [item(site.url("/a.html"))]
    pages = stage_get(writer["key"])["pages"]
    assert [p["url"] for p in pages] == [site.url("/a.html")]
    assert scraped_urls(published(SCRAPER)) == [site.url("/b.html"), site.url("/c.html")]


def test_the_open_payloads_shorter_depth_wins_over_the_messages(
    job: str, site: FixtureSite
) -> None:
    """A page shortened after its message was published is scraped at its new depth,
    so its links come within the depth limit."""
    admit(job, site.url("/a.html"), depth=2, parent=site.url("/b.html"))
    job_state.open_new(
        job, {item(site.url("/a.html")): entry(site.url("/a.html"), 1, site.url("/")).to_wire()}
    )
    report = scrape(job, [entry(site.url("/a.html"), 2, site.url("/b.html"))], "delivery-1")
    assert report.children == 2  # at depth 2 its links would be past the limit
    (writer,) = published(WRITER)
    assert [p["depth"] for p in stage_get(writer["key"])["pages"]] == [1]
    children = published(SCRAPER)
    assert {e["d"] for body in children for e in body["items"]} == {2}


def test_a_scrape_closes_the_expands_its_own_links_make_moot(job: str, site: FixtureSite) -> None:
    """A page shortened before it was scraped is scraped at the shorter depth, so the
    expand item the shortening opened closes with the page's write, without an expand of
    its own; an expand opened for a still shorter depth (after the claim) stays open."""
    a_url, start = site.url("/a.html"), site.url("/")
    admit(job, a_url, depth=2, parent=site.url("/b.html"))
    shortening = job_state.Candidate(
        fingerprint=url_fingerprint(a_url), depth=1, fetch=True, url=a_url, parent_url=start,
        parent_fingerprint=url_fingerprint(start),
    )  # fmt: skip
    codes = job_state.admit(
        job_id=job, candidates=[shortening], max_pages=100, quota_key="quota:{core}",
        quota_limit=1000, quota_ttl=3600, max_depth=2,
    )  # fmt: skip
    assert codes == [job_state.Code.EXPAND]
    moot = job_state.expand_item(url_fingerprint(a_url), 1)
    shorter = job_state.expand_item(url_fingerprint(a_url), 0)
    job_state.open_new(job, {shorter: entry(a_url, 0).to_wire()})

    scrape(job, [entry(a_url, 2, site.url("/b.html"))], "delivery-1")

    (writer,) = published(WRITER)
    assert sorted(writer["items"]) == sorted([item(a_url), moot])
    write_batch(job_id=job, batch_id=writer["batch"], key=writer["key"], items=writer["items"])
    assert not job_state.is_open(job, moot)
    assert job_state.is_open(job, shorter)
    take(SCRAPER)


def _hold_every_slot(redis: Any, netloc: str, limit: int) -> str:
    """The host's request slots all taken, as a killed worker leaves them until they expire."""
    slots = f"host:{{{netloc}}}:slots"
    redis.zadd(slots, {f"dead-worker-{n}": 4_000_000_000 for n in range(limit)})
    return slots


def test_a_page_whose_host_stays_busy_is_fetched_again_without_spending_an_attempt(
    job: str, site: FixtureSite, redis_clean: Any, settings: Any
) -> None:
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 1  # the fetches' deadline: 0.7 s from now
    settings.CRAWL_MAX_FETCH_ATTEMPTS = 1  # a retry that spent an attempt would fail the page
    slots = _hold_every_slot(
        redis_clean, site.origin.split("//")[1], settings.CRAWL_HOST_CONCURRENCY
    )
    busy = scrape(job, [entry(site.url("/"))], "delivery-1")
    assert (busy.claimed, busy.retried, busy.children) == (1, 1, 0)
    assert site.page_paths() == []
    assert published(WRITER) == []  # no record: the page did not fail
    # Published with an SQS delay (CRAWL_RETRY_BASE_SECONDS): it shows up a moment later.
    bodies = wait_for(lambda: published(SCRAPER), timeout=10, message="the page published again")
    ((again,),) = [body["items"] for body in bodies]
    assert again == {"u": site.url("/"), "d": 0, "p": ""}  # the same attempt (none spent)
    assert job_state.is_open(job, item(site.url("/")))

    redis_clean.delete(slots)  # the dead worker's leases expired
    settings.CELERY_TASK_SOFT_TIME_LIMIT = 8
    fetched = scrape(job, [PageEntry.from_wire(again)], "delivery-2")
    assert (fetched.claimed, fetched.retried) == (1, 0)
    assert site.page_paths() == ["/"]
    (writer,) = published(WRITER)
    assert [p["outcome"] for p in stage_get(writer["key"])["pages"]] == ["fetched"]


def test_links_found_on_small_pages_go_in_bigger_messages(
    job: str, site: FixtureSite, settings: Any
) -> None:
    """A message has a fixed cost; small pages' links fill up to CRAWL_BATCH_GROWTH x the
    batch size, as many as CRAWL_BATCH_BYTES of pages the size of those that found them."""
    settings.CRAWL_BATCH_SIZE, settings.CRAWL_BATCH_GROWTH = 1, 2
    settings.CRAWL_BATCH_BYTES = 1  # less than any page: the configured size
    scrape(job, [entry(site.url("/"))], "delivery-1")
    assert [scraped_urls([body]) for body in published(SCRAPER)] == [
        [site.url("/a.html")], [site.url("/b.html")],
    ]  # fmt: skip

    settings.CRAWL_BATCH_BYTES = 10_000_000  # room for many pages this small: grown twofold
    scrape(job, [entry(site.url("/"))], "delivery-1")  # a redelivery re-publishes them (R)
    assert [scraped_urls([body]) for body in published(SCRAPER)] == [
        [site.url("/a.html"), site.url("/b.html")],
    ]


@pytest.mark.parametrize(
    ("page_bytes", "size"),
    [
        ([], 64),  # nothing fetched: the configured size
        ([60_000] * 64, 64),  # large pages: never fewer than the configured size
        ([12_000] * 64, 128),  # small pages: 174 would fit, at most twice the size
        ([30_000] * 10, 69),  # in between: 2 MiB of them
    ],
)
def test_a_messages_size_follows_the_size_of_the_pages_that_found_its_links(
    page_bytes: list[int], size: int, settings: Any
) -> None:
    settings.CRAWL_BATCH_SIZE, settings.CRAWL_BATCH_GROWTH = 64, 2
    settings.CRAWL_BATCH_BYTES = 2 * 1024 * 1024
    assert batch_size_for(page_bytes) == size
