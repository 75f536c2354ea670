"""Time the same HTML extraction with selectolax (lexbor) and lxml.html.

Both variants do the DOM work parse_html needs (title, visible text without scripts and
styles, link hrefs with rel, image src/srcset/alt) on deterministic synthetic pages of
10-90 KB with 50-200 links; URL canonicalisation is left out because it is the same
Python code for both. The full `parse_html` is timed too, for scale.

Run: .venv/bin/python bench/parser_bench.py [--rounds N]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import lxml.html
from lxml import etree
from selectolax.lexbor import LexborHTMLParser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from isidorus.crawling.parse import parse_html

INVISIBLE_TAGS = ["script", "style", "noscript", "template", "svg", "head"]
_WORDS_TEXT = """
    crawl index page robot scope domain anchor image caption figure section article render
    parse token weight signal search market growth river mountain engine
"""
WORDS = _WORDS_TEXT.split()
Extraction = tuple[str, str, list[tuple[str, str]], list[tuple[str, str, str]]]


def synthetic_page(seed: int) -> bytes:
    """A page of 10-90 KB with 50-200 links, a few images and some script and style."""
    rng = random.Random(seed)
    target_bytes = rng.randint(10_000, 90_000)
    link_count = rng.randint(50, 200)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Synthetic page {seed}</title><style>.c{{color:red}}</style>",
        "<script>window.dataLayer=[];</script></head><body><nav><ul>",
    ]
    parts += [f"<li><a href='/section/{n}'>Section {n}</a></li>" for n in range(10)]
    parts.append("</ul></nav><main>")
    size = sum(map(len, parts))
    links_left = link_count - 10
    paragraph = 0
    while size < target_bytes or links_left > 0:
        words = " ".join(rng.choices(WORDS, k=rng.randint(30, 120)))
        block = f"<section><h2>Heading {paragraph}</h2><p>{words}</p>"
        if links_left > 0:
            count = min(links_left, rng.randint(1, 6))
            links_left -= count
            block += "<p>" + " ".join(
                f"<a href='/article/{seed}-{paragraph}-{n}?ref=list&amp;utm_source=x'"
                f"{' rel=nofollow' if n % 7 == 0 else ''}>Article {n}</a>"
                for n in range(count)
            )
            block += "</p>"
        if paragraph % 9 == 0:
            block += (
                f"<figure><img src='/img/{paragraph}.jpg' alt='Image {paragraph}'"
                f" srcset='/img/{paragraph}@2x.jpg 2x, /img/{paragraph}@3x.jpg 3x'>"
                f"<figcaption>Caption {paragraph}</figcaption></figure>"
            )
        if paragraph % 5 == 0:
            block += f"<script>console.log({paragraph});</script>"
        block += "</section>"
        parts.append(block)
        size += len(block)
        paragraph += 1
    parts.append("</main><footer>Footer text</footer></body></html>")
    return "".join(parts).encode("utf-8")


def extract_with_selectolax(body: bytes) -> Extraction:
    tree = LexborHTMLParser(body)
    title_node = tree.css_first("title")
    title = title_node.text() if title_node is not None else ""
    links = [
        (node.attributes.get("href") or "", node.attributes.get("rel") or "")
        for node in tree.css("a[href], area[href]")
    ]
    images = [
        (
            node.attributes.get("src") or "",
            node.attributes.get("srcset") or "",
            node.attributes.get("alt") or "",
        )
        for node in tree.css("img")
    ]
    tree.strip_tags(INVISIBLE_TAGS)
    text = tree.body.text(separator=" ") if tree.body is not None else ""
    return title, " ".join(text.split()), links, images


def extract_with_lxml(body: bytes) -> Extraction:
    document = lxml.html.document_fromstring(body)
    title = document.findtext(".//title") or ""
    links = [
        (node.get("href") or "", node.get("rel") or "")
        for node in document.iter("a", "area")
        if node.get("href") is not None
    ]
    images = [
        (node.get("src") or "", node.get("srcset") or "", node.get("alt") or "")
        for node in document.iter("img")
    ]
    etree.strip_elements(document, *INVISIBLE_TAGS, with_tail=False)
    bodies = document.xpath("//body")
    text = " ".join(bodies[0].itertext()) if bodies else ""
    return title, " ".join(text.split()), links, images


def full_parse(body: bytes) -> object:
    return parse_html(body, "https://bench.example.com/start/page.html")


def milliseconds_per_page(
    extract: Callable[[bytes], object], pages: list[bytes], rounds: int
) -> float:
    for page in pages:  # warm up
        extract(page)
    per_round = []
    for _ in range(rounds):
        started = time.perf_counter()
        for page in pages:
            extract(page)
        per_round.append((time.perf_counter() - started) / len(pages) * 1000)
    return statistics.median(per_round)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--pages", type=int, default=40)
    arguments = parser.parse_args()

    pages = [synthetic_page(seed) for seed in range(arguments.pages)]
    sizes = [len(page) for page in pages]
    if extract_with_selectolax(pages[0]) != extract_with_lxml(pages[0]):
        raise SystemExit("the two variants extract different results; fix them before timing")

    selectolax_ms = milliseconds_per_page(extract_with_selectolax, pages, arguments.rounds)
    lxml_ms = milliseconds_per_page(extract_with_lxml, pages, arguments.rounds)
    full_ms = milliseconds_per_page(full_parse, pages, arguments.rounds)
    print(
        f"{len(pages)} pages, {min(sizes) // 1000}-{max(sizes) // 1000} KB"
        f" (mean {statistics.mean(sizes) / 1000:.0f} KB), median of {arguments.rounds} rounds"
    )
    print(f"selectolax (lexbor) extraction: {selectolax_ms:7.3f} ms/page")
    print(f"lxml.html extraction:           {lxml_ms:7.3f} ms/page")
    print(f"lxml / selectolax:              {lxml_ms / selectolax_ms:7.2f}x")
    print(f"full parse_html (selectolax):   {full_ms:7.3f} ms/page")


if __name__ == "__main__":
    main()
