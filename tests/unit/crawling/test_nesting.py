from __future__ import annotations

import time

from isidorus.crawling.nesting import truncate_pathological_nesting


def test_a_small_document_is_unchanged() -> None:
    html = "<div>" * 5000
    assert truncate_pathological_nesting(html) is html


def test_a_large_well_formed_document_is_unchanged() -> None:
    html = "<div><p>text <b>bold</b></p><ul><li>a<li>b</ul></div>" * 5000
    assert truncate_pathological_nesting(html) == html


def test_many_unclosed_paragraphs_do_not_count_as_nesting() -> None:
    html = "<p>paragraph" * 50_000
    assert truncate_pathological_nesting(html) == html


def test_endlessly_nested_divs_are_cut() -> None:
    html = "<div>start" + "<div>" * 200_000
    truncated = truncate_pathological_nesting(html)
    assert truncated.startswith("<div>start")
    assert 10_000 < len(truncated) < len(html) // 10


def test_end_tags_scanning_a_deep_stack_are_cut() -> None:
    html = "<em>" * 3000 + "</p>" * 1_000_000
    assert len(truncate_pathological_nesting(html)) < len(html) // 10


def test_the_scan_is_fast() -> None:
    html = "<div><span>x</span></div>" * 100_000
    started = time.perf_counter()
    truncate_pathological_nesting(html)
    assert time.perf_counter() - started < 1.0
