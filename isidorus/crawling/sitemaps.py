"""Parse a sitemap's bytes: XML `urlset` or `sitemapindex` (sitemaps.org), gzip or not, or
a text sitemap (one URL a line). Bytes only: nothing here fetches, so the guarded fetcher
(SSRF policy, deadlines, size limits) is the only way a sitemap comes in.

The XML parser resolves no entities, loads no DTD and reaches no network, and reads the
document as a stream, keeping only the `<loc>` values. A gzip body is decompressed up to
`max_bytes`, as page bodies are limited: a bigger one is invalid, not truncated.
"""

from __future__ import annotations

import gzip
import io
import zlib
from dataclasses import dataclass
from enum import StrEnum

from lxml import etree

GZIP_MAGIC = b"\x1f\x8b"
_READ_CHUNK = 64 * 1024


class SitemapKind(StrEnum):
    URLSET = "urlset"
    INDEX = "sitemapindex"


class SitemapInvalid(ValueError):
    pass


@dataclass(frozen=True)
class Sitemap:
    kind: SitemapKind
    # Page URLs (urlset, text) or sitemap URLs (index), as written, at most `max_urls`.
    locations: list[str]


def parse_sitemap(body: bytes, *, max_bytes: int, max_urls: int) -> Sitemap:
    """The locations of a sitemap; raises SitemapInvalid for anything else."""
    data = _gunzip(body, max_bytes) if body.startswith(GZIP_MAGIC) else body
    if len(data) > max_bytes:
        raise SitemapInvalid(f"over {max_bytes} bytes")
    if data.lstrip()[:1] == b"<":
        return _parse_xml(data, max_urls)
    return _parse_text(data, max_urls)


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
            while chunk := stream.read(_READ_CHUNK):
                out += chunk
                if len(out) > max_bytes:
                    raise SitemapInvalid(f"decompresses to over {max_bytes} bytes")
    except (OSError, EOFError, zlib.error) as error:
        raise SitemapInvalid(f"bad gzip: {error}") from None
    return bytes(out)


def _parse_xml(data: bytes, max_urls: int) -> Sitemap:
    kind: SitemapKind | None = None
    locations: list[str] = []
    events = etree.iterparse(
        io.BytesIO(data),
        events=("start", "end"),
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
    )
    try:
        for event, element in events:
            name = etree.QName(element).localname
            if event == "start":
                if kind is None:
                    if name not in ("urlset", "sitemapindex"):
                        raise SitemapInvalid(f"root element <{name}> is not a sitemap")
                    kind = SitemapKind(name)
                continue
            if name == "loc" and len(locations) < max_urls:
                location = (element.text or "").strip()
                if location:
                    locations.append(location)
            if name in ("url", "sitemap"):
                element.clear(keep_tail=False)
    except etree.XMLSyntaxError as error:
        raise SitemapInvalid(f"bad XML: {error}") from None
    if kind is None:
        raise SitemapInvalid("empty document")
    return Sitemap(kind, locations)


def _parse_text(data: bytes, max_urls: int) -> Sitemap:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SitemapInvalid("a text sitemap must be UTF-8") from None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or not all(line.startswith(("http://", "https://")) for line in lines):
        raise SitemapInvalid("neither XML nor a list of URLs")
    return Sitemap(SitemapKind.URLSET, lines[:max_urls])
