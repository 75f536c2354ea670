"""The main-content corpus (tests/fixtures/extraction) that chose the extractor stays
well formed: every page has its label, the halves are balanced, the kinds issue 12 asks
for are covered, and each label is text the page really shows."""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from isidorus.crawling.parse import parse_html

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "extraction"
PAGES = FIXTURES / "pages"
REQUIRED_KINDS = {"docs", "blog", "news", "forum", "product", "table", "code", "sparse"}
# Same words as bench/extract_bench.py: each Han or kana character is a word of its own.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


def _manifest() -> list[dict[str, Any]]:
    pages: list[dict[str, Any]] = json.loads(
        (FIXTURES / "manifest.json").read_text(encoding="utf-8")
    )["pages"]
    return pages


def _words(text: str) -> Counter[str]:
    return Counter(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def _covers(page: dict[str, Any]) -> set[str]:
    return {page["kind"], *page["features"]}


def test_every_page_has_a_label_and_nothing_is_left_over() -> None:
    names = [page["name"] for page in _manifest()]
    assert len(names) == len(set(names))
    expected = {f"{name}.html" for name in names} | {f"{name}.main.txt" for name in names}
    assert {path.name for path in PAGES.iterdir()} == expected
    for name in names:
        assert (PAGES / f"{name}.main.txt").read_text(encoding="utf-8").strip(), name


def test_halves_are_balanced_and_cover_the_kinds() -> None:
    pages = _manifest()
    assert len(pages) >= 16
    halves = Counter(page["half"] for page in pages)
    assert set(halves) == {"tuning", "held-out"}
    assert halves["tuning"] == halves["held-out"]
    for half in halves:
        covered = set().union(*(_covers(page) for page in pages if page["half"] == half))
        assert covered >= REQUIRED_KINDS, (half, REQUIRED_KINDS - covered)


def test_corpus_has_documentation_with_sidebar_and_toc_and_two_other_languages() -> None:
    pages = _manifest()
    assert any(_covers(page) >= {"docs", "sidebar", "toc"} for page in pages)
    assert len({page["language"] for page in pages} - {"en"}) >= 2


def test_at_least_half_of_the_pages_come_from_real_generators() -> None:
    pages = _manifest()
    generated = [page for page in pages if not page["generator"].startswith("hand-written")]
    assert 2 * len(generated) >= len(pages)


@pytest.mark.parametrize("name", [page["name"] for page in _manifest()])
def test_label_is_text_the_page_shows(name: str) -> None:
    page_words = _words(parse_html((PAGES / f"{name}.html").read_bytes(), "http://x.test/").text)
    label_words = _words((PAGES / f"{name}.main.txt").read_text(encoding="utf-8"))
    missing = label_words - page_words
    assert not missing, f"label words the page does not show: {sorted(missing)[:10]}"
