"""Hostile sites against the real fetcher: every one ends in a classified result, in time,
within the size limit, and its body (when there is one) parses without raising."""

from __future__ import annotations

import contextlib
import gzip
import random
import time
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from isidorus.crawling.parse import parse_html
from isidorus.crawling.urls import MAX_URL_LENGTH
from isidorus.integrations.http_fetch import FetchLimits, FetchResult, fetch
from tests.support import raw_servers
from tests.support.raw_servers import FullBacklog, RawSite
from tests.support.site import FixtureSite, Route, html, redirect

MAX_BYTES = 1024 * 1024
LIMITS = FetchLimits(connect_timeout=1, read_timeout=10, total_seconds=2, max_bytes=MAX_BYTES)
# Slack for scheduling around a deadline: a cut that late is still "on time".
SLACK_SECONDS = 1.0


def timed_fetch(url: str, limits: FetchLimits = LIMITS) -> tuple[FetchResult, float]:
    started = time.monotonic()
    result = fetch(url, limits=limits)
    return result, time.monotonic() - started


def peak_memory_of(call: Callable[[], FetchResult]) -> tuple[FetchResult, int]:
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


Serve = Callable[[dict[str, raw_servers.Handler]], RawSite]


@pytest.fixture
def raw_site() -> Iterator[Serve]:
    with contextlib.ExitStack() as stack:
        yield lambda routes: stack.enter_context(RawSite(routes))


# --- time ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "handler",
    [
        pytest.param(raw_servers.drip_body(), id="body"),
        pytest.param(raw_servers.drip_headers(), id="headers"),
    ],
)
def test_a_response_that_drips_a_byte_a_second_is_cut_at_the_total_deadline(
    raw_site: Serve, handler: raw_servers.Handler
) -> None:
    site = raw_site({"/drip": handler})
    result, elapsed = timed_fetch(site.url("/drip"))
    assert (result.outcome, result.reason, result.retryable) == ("failed", "timeout", True)
    assert result.body == b""
    assert elapsed < LIMITS.total_seconds + SLACK_SECONDS


def test_a_reused_keep_alive_connection_is_cut_at_the_deadline_of_its_fetch(
    raw_site: Serve,
) -> None:
    site = raw_site({"/fast": raw_servers.page("<p>fast</p>", keep_alive=True),
                     "/drip": raw_servers.drip_body()})  # fmt: skip
    assert fetch(site.url("/fast"), limits=LIMITS).outcome == "fetched"
    result, elapsed = timed_fetch(site.url("/drip"))
    assert site.connections == 1  # the drip came over the connection the first fetch opened
    assert (result.outcome, result.reason) == ("failed", "timeout")
    assert elapsed < LIMITS.total_seconds + SLACK_SECONDS


def test_a_deadline_ends_with_its_fetch_and_never_cuts_a_pooled_connection(
    raw_site: Serve,
) -> None:
    site = raw_site({"/": raw_servers.page("<p>kept</p>", keep_alive=True)})
    limits = FetchLimits(total_seconds=0.5)
    first = fetch(site.url("/"), limits=limits)
    time.sleep(limits.total_seconds + 0.5)  # the first fetch's deadline would have passed
    second = fetch(site.url("/"), limits=limits)
    assert (first.outcome, second.outcome) == ("fetched", "fetched")
    assert second.body == b"<p>kept</p>"
    assert site.connections == 1


def test_a_server_that_accepts_but_never_answers_times_out(
    raw_site: Serve,
) -> None:
    site = raw_site({"/": raw_servers.silent})
    limits = FetchLimits(connect_timeout=1, read_timeout=1, total_seconds=5)
    result, elapsed = timed_fetch(site.url("/"), limits)
    assert (result.outcome, result.reason, result.retryable) == ("failed", "timeout", True)
    assert elapsed < limits.read_timeout + SLACK_SECONDS


def test_a_server_that_never_accepts_times_out_at_connect() -> None:
    limits = FetchLimits(connect_timeout=1, read_timeout=10, total_seconds=5)
    with FullBacklog() as server:
        result, elapsed = timed_fetch(server.url("/"), limits)
    assert (result.outcome, result.reason, result.retryable) == ("failed", "timeout", True)
    assert elapsed < limits.connect_timeout + SLACK_SECONDS


def test_a_connection_closed_without_a_response_is_a_retryable_connection_failure(
    raw_site: Serve,
) -> None:
    site = raw_site({"/": raw_servers.close_without_response})
    result, _ = timed_fetch(site.url("/"))
    assert (result.outcome, result.reason, result.retryable) == ("failed", "connection", True)


# --- size ---------------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "close-delimited"])
def test_an_endless_body_is_cut_at_max_bytes_in_bounded_memory(
    raw_site: Serve, chunked: bool
) -> None:
    site = raw_site({"/endless": raw_servers.endless_body(chunked=chunked)})
    result, peak = peak_memory_of(lambda: fetch(site.url("/endless"), limits=LIMITS))
    assert (result.outcome, result.reason, result.retryable) == ("skipped", "too_large", False)
    assert result.body == b""
    assert peak < 4 * MAX_BYTES
    assert site.bytes_sent > MAX_BYTES  # the limit was reached by reading, not by accident


def test_a_declared_length_over_max_bytes_is_refused_without_reading_the_body(
    raw_site: Serve,
) -> None:
    # The body drips after the headers: reading any of it would end in a timeout instead.
    site = raw_site({"/huge": raw_servers.declared_length(10**12)})
    result, elapsed = timed_fetch(site.url("/huge"))
    assert (result.outcome, result.reason) == ("skipped", "too_large")
    assert elapsed < 1.0


# brotli is not installed, so the fetcher does not ask for br and no br body is inflated.
@pytest.mark.parametrize("encoding", ["gzip", "deflate", "gzip, deflate"])
def test_a_compression_bomb_is_cut_at_max_bytes_in_bounded_memory(
    raw_site: Serve, encoding: str
) -> None:
    bomb = raw_servers.bomb(encoding)
    assert len(bomb) < MAX_BYTES < raw_servers.BOMB_BYTES  # small on the wire, huge inflated
    site = raw_site({"/bomb": raw_servers.compressed_page(encoding, bomb)})
    result, peak = peak_memory_of(lambda: fetch(site.url("/bomb"), limits=LIMITS))
    assert (result.outcome, result.reason) == ("skipped", "too_large")
    assert result.body == b""
    assert peak < 4 * MAX_BYTES


def test_a_small_compressed_page_is_fetched_inflated(raw_site: Serve) -> None:
    # The bomb guard must not refuse honest compression.
    body = html("Zipped", "<p>" + "word " * 50_000 + "</p>").encode()
    site = raw_site({"/": raw_servers.compressed_page("gzip", gzip.compress(body))})
    result, _ = timed_fetch(site.url("/"))
    assert (result.outcome, result.body) == ("fetched", body)


# --- redirects ----------------------------------------------------------------------------


def test_a_redirect_loop_is_classified() -> None:
    with FixtureSite({"/a": redirect("/b"), "/b": redirect("/a")}) as site:
        result, _ = timed_fetch(site.url("/a"))
        assert (result.outcome, result.reason, result.retryable) == (
            "failed",
            "redirect_loop",
            False,
        )
        assert site.requested_paths() == ["/a", "/b"]


def test_more_than_five_redirects_are_classified() -> None:
    routes = {f"/r{hop}": redirect(f"/r{hop + 1}") for hop in range(10)}
    with FixtureSite(routes) as site:
        result, _ = timed_fetch(site.url("/r0"))
        assert (result.outcome, result.reason) == ("failed", "too_many_redirects")
        assert result.redirects == [site.url(f"/r{hop}") for hop in range(1, 6)]
        assert site.requested_paths() == [f"/r{hop}" for hop in range(6)]


def test_a_redirect_to_a_url_over_the_length_limit_is_an_invalid_redirect() -> None:
    with FixtureSite({"/": redirect("/" + "a" * 9000)}) as site:
        result, _ = timed_fetch(site.url("/"))
        assert (result.outcome, result.reason) == ("failed", "invalid_redirect")
        assert site.requested_paths() == ["/"]


# --- bad bytes ----------------------------------------------------------------------------

# (content type, body, expected title, expected link paths). Per the HTML Standard, a NUL
# in an attribute value or the title becomes U+FFFD; in body text it is dropped.
BAD_BODIES: dict[str, tuple[str, bytes, str, list[str]]] = {
    "invalid-utf8": (
        "text/html; charset=utf-8",
        b"<title>caf\xe9 \xff\xfe</title><body><a href='/a\xc3'>\xc3\x28 x</a></body>",
        "caf\ufffd \ufffd\ufffd",
        ["/a%EF%BF%BD"],
    ),
    # The header's charset wins over the bytes: the page decodes to CJK noise, no links.
    "declared-utf16-but-ascii": (
        "text/html; charset=utf-16",
        b"<html><title>Plain</title><body><a href='/a'>a</a></body></html>",
        "",
        [],
    ),
    "unknown-charset": (
        "text/html; charset=x-no-such-charset",
        b"<title>Known</title><a href='/a'>a</a>",
        "Known",
        ["/a"],
    ),
    "declared-shift-jis-but-utf8": (
        "text/html; charset=shift_jis",
        "<title>\u00dcn\u00efc\u00f6d\u00e9</title><a href='/a'>a</a>".encode(),
        "\uff83\u5f9e\uff83\uff6fc\uff83\uff76d\uff83\uff69",
        ["/a"],
    ),
    "nul-bytes": (
        "text/html",
        b"<title>nul\x00here</title><body>\x00\x00<p>te\x00xt</p><a href='/a\x00b'>a</a>",
        "nul\ufffdhere",
        ["/a%EF%BF%BDb"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_a_body_with_bad_bytes_is_fetched_and_parses(case: str) -> None:
    content_type, body, title, link_paths = BAD_BODIES[case]
    with FixtureSite({"/": Route(body=body, content_type=content_type)}) as site:
        result, _ = timed_fetch(site.url("/"))
        page = parse_html(result.body, result.final_url, header_charset=result.charset)
    assert (result.outcome, result.body) == ("fetched", body)
    assert page.title == title
    assert [link.url for link in page.links] == [site.url(path) for path in link_paths]


def test_nul_bytes_in_body_text_are_dropped() -> None:
    page = parse_html(BAD_BODIES["nul-bytes"][1], "http://example.com/")
    assert page.text == "texta"


# --- malformed markup ---------------------------------------------------------------------


def test_unclosed_tags_still_yield_their_links_and_text() -> None:
    body = b"<html><body><div><p><a href='/a'>first<div><span><table><td><a href=/b>second"
    page = parse_html(body, "http://example.com/")
    assert [link.url for link in page.links] == ["http://example.com/a", "http://example.com/b"]
    assert page.text == "first second"


def test_random_garbage_bytes_parse_without_raising() -> None:
    garbage = random.Random(7).randbytes(500_000)
    page = parse_html(garbage + b"<a href='/after'>x</a>", "http://example.com/")
    assert "http://example.com/after" in [link.url for link in page.links]


def test_ten_thousand_links_on_one_page_are_all_kept_in_order() -> None:
    anchors = "".join(f'<a href="/p/{n}">p{n}</a>' for n in range(10_000))
    started = time.monotonic()
    page = parse_html(html("Links", anchors).encode(), "http://example.com/")
    assert time.monotonic() - started < 2.0
    assert [link.url for link in page.links] == [f"http://example.com/p/{n}" for n in range(10_000)]


def test_links_longer_than_the_url_limit_are_dropped() -> None:
    origin = "http://example.com"
    at_limit = "/" + "a" * (MAX_URL_LENGTH - len(origin) - 1)
    hrefs = [at_limit, at_limit + "b", "/" + "c" * 9000, "/?q=" + "d" * 20_000, "/short"]
    body = html("Long", "".join(f'<a href="{href}">x</a>' for href in hrefs))
    page = parse_html(body.encode(), f"{origin}/")
    assert [link.url for link in page.links] == [origin + at_limit, origin + "/short"]
    assert len(page.links[0].url) == MAX_URL_LENGTH
