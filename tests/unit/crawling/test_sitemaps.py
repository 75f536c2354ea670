"""Sitemap parsing from bytes (isidorus/crawling/sitemaps.py) and robots.txt Sitemap: lines."""

from __future__ import annotations

import gzip

import pytest

from isidorus.crawling.robots import RobotsRules
from isidorus.crawling.sitemaps import SitemapInvalid, SitemapKind, parse_sitemap

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
URLSET = (
    f"<?xml version='1.0'?><urlset {NS}><url><loc> http://a.example/1 </loc></url>"
    "<url><loc>http://a.example/2</loc><lastmod>2026-01-01</lastmod></url></urlset>"
).encode()
INDEX = (
    f"<sitemapindex {NS}><sitemap><loc>http://a.example/s1.xml.gz</loc></sitemap></sitemapindex>"
).encode()


def parse(body: bytes, *, max_bytes: int = 1 << 20, max_urls: int = 100) -> tuple[str, list[str]]:
    sitemap = parse_sitemap(body, max_bytes=max_bytes, max_urls=max_urls)
    return sitemap.kind.value, sitemap.locations


def test_a_urlset_an_index_gzip_and_text() -> None:
    assert parse(URLSET) == ("urlset", ["http://a.example/1", "http://a.example/2"])
    assert parse(gzip.compress(URLSET)) == ("urlset", ["http://a.example/1", "http://a.example/2"])
    assert parse(INDEX) == (SitemapKind.INDEX.value, ["http://a.example/s1.xml.gz"])
    assert parse(b"http://a.example/1\r\n\nhttps://a.example/2\n") == (
        "urlset",
        ["http://a.example/1", "https://a.example/2"],
    )


def test_at_most_max_urls_are_kept() -> None:
    assert parse(URLSET, max_urls=1)[1] == ["http://a.example/1"]


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Not found</body></html>",
        f"<urlset {NS}><url><loc>http://a.example/1".encode(),
        b"just some words",
        b"",
        b"\x1f\x8b\x08not really gzip",
        "http://a.example/\xe9".encode("latin-1"),
    ],
    ids=["html", "truncated", "words", "empty", "bad-gzip", "not-utf8"],
)
def test_what_is_not_a_sitemap_is_invalid(body: bytes) -> None:
    with pytest.raises(SitemapInvalid):
        parse(body)


def test_a_gzip_bomb_is_refused_at_the_size_limit() -> None:
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000)
    with pytest.raises(SitemapInvalid, match="decompresses to over"):
        parse(bomb, max_bytes=1_000_000)


def test_entities_are_never_resolved() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
        b"<urlset><url><loc>&e;</loc></url></urlset>"
    )
    assert parse(body) == ("urlset", [])


def test_robots_sitemap_lines_are_global_and_ordered() -> None:
    text = (
        "Sitemap: http://a.example/one.xml\n"
        "User-agent: otherbot\nDisallow: /\n"
        "sitemap:https://a.example/two.xml.gz  # the big one\n"
        "Sitemap:\n"
    )
    rules = RobotsRules.parse(text, "IsidorusBot/1.0")
    assert rules.sitemaps == ("http://a.example/one.xml", "https://a.example/two.xml.gz")
    assert rules.allows("/anything")
