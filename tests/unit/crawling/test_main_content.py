"""The crawler's main content (parse_html's `content`) on the corpus that chose the
extractor (tests/fixtures/extraction, docs/extraction.md), and its full-text fallback."""

from __future__ import annotations

import json
import re
import statistics
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from isidorus.crawling.parse import ContentSource, parse_html

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "extraction"
PAGE_URL = "http://fixtures.test/page.html"
# The bench's words (bench/extract_bench.py): each Han or kana character is a word.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
MANIFEST: list[dict[str, Any]] = json.loads((FIXTURES / "manifest.json").read_text())["pages"]
# What the bench measured for the chosen extractor, less a margin for ties in rounding.
MIN_MEAN_F1 = {"tuning": 0.95, "held-out": 0.97}
# Pages whose main content is a few lines beside a lot of furniture score lower.
MIN_PAGE_PRECISION = 0.5


def _words(text: str) -> Counter[str]:
    return Counter(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def _precision_recall(name: str) -> tuple[float, float]:
    body = (FIXTURES / "pages" / f"{name}.html").read_bytes()
    label = _words((FIXTURES / "pages" / f"{name}.main.txt").read_text(encoding="utf-8"))
    content = parse_html(body, PAGE_URL).content
    assert content.source is ContentSource.MAIN
    got = _words(content.text)
    shared = sum((got & label).values())
    return shared / sum(got.values()), shared / sum(label.values())


@pytest.mark.parametrize("page", MANIFEST, ids=[page["name"] for page in MANIFEST])
def test_every_corpus_page_keeps_all_of_its_main_content(page: dict[str, Any]) -> None:
    precision, recall = _precision_recall(page["name"])
    assert recall >= 0.99
    assert precision >= MIN_PAGE_PRECISION


@pytest.mark.parametrize("half", sorted(MIN_MEAN_F1))
def test_each_half_scores_what_the_bench_measured(half: str) -> None:
    scores = [_precision_recall(page["name"]) for page in MANIFEST if page["half"] == half]
    mean_f1 = statistics.mean(2 * p * r / (p + r) for p, r in scores)
    assert mean_f1 >= MIN_MEAN_F1[half]


def test_navigation_and_furniture_are_not_in_a_sphinx_pages_content() -> None:
    body = (FIXTURES / "pages" / "sphinx-install.html").read_bytes()
    parsed = parse_html(body, PAGE_URL)
    for furniture in ("Previous topic", "Next topic", "Quick search", "Table of Contents"):
        assert furniture in parsed.text  # the full visible text keeps it
        assert furniture not in parsed.content.text
        assert furniture not in parsed.content.markdown
    assert parsed.content.markdown.startswith("# Installing Larkspur\n")


def test_a_page_whose_main_content_is_almost_nothing_falls_back_to_its_whole_body() -> None:
    words = " ".join(f"word{n}" for n in range(60))
    html = (
        f'<html><body><div class="sidebar-wrapper"><h1>Guide</h1><p>{words}</p></div>'
        "<main><p>Hi</p></main></body></html>"
    )
    parsed = parse_html(html.encode(), PAGE_URL)
    assert parsed.content.source is ContentSource.FULL_TEXT
    assert parsed.content.markdown.startswith("# Guide\n\nword0 word1")
    assert parsed.content.text.split("\n") == ["Guide", words, "Hi"]


def test_a_short_page_keeps_its_few_words_of_main_content() -> None:
    html = (
        "<html><body><nav><a href='/a'>Home</a> <a href='/b'>About</a></nav>"
        "<main><h1>Contact</h1><p>Write to us.</p></main></body></html>"
    )
    parsed = parse_html(html.encode(), PAGE_URL)
    assert parsed.content.source is ContentSource.MAIN
    assert parsed.content.text == "Contact\nWrite to us."


def test_a_page_without_a_body_has_empty_content() -> None:
    parsed = parse_html(b"", PAGE_URL)
    assert (parsed.content.markdown, parsed.content.text) == ("", "")


def test_whitespace_of_every_kind_is_left_out_when_a_block_is_measured_as_a_link_list() -> None:
    # 8 characters of link text against 2 of other text: a link list, however much
    # whitespace (ideographic, no-break, tabs, newlines) pads the block.
    padding = "\u3000\u00a0\t\n\u2003 " * 20
    html = (
        "<html><body><main><h1>Notes</h1>"
        f"<p>{' '.join(f'word{n}' for n in range(40))}</p>"
        f"<div><a href='/x'>linktext</a>{padding}x{padding}y{padding}</div>"
        "</main></body></html>"
    )
    parsed = parse_html(html.encode(), PAGE_URL)
    assert parsed.content.source is ContentSource.MAIN
    assert "linktext" not in parsed.content.text
    assert "linktext" in parsed.text
