"""Export names and cells (isidorus/scrapings/exports/names.py)."""

from __future__ import annotations

import pytest

from isidorus.scrapings.exports.names import MAX_NAME_CHARS, ZipNames, neutralise_cell


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://docs.example/", "docs.example/index.md"),
        ("https://docs.example", "docs.example/index.md"),
        ("https://docs.example/guide/install.html", "docs.example/guide/install.md"),
        ("https://docs.example/guide/", "docs.example/guide/index.md"),
        ("https://docs.example/a/../../etc/passwd", "docs.example/a/etc/passwd.md"),
        ("https://docs.example/%2e%2e/%2Fetc/x", "docs.example/etc/x.md"),
        ("https://docs.example/caf%C3%A9 menu.html", "docs.example/caf-menu.md"),
        ("https://docs.example/.hidden", "docs.example/hidden.md"),
    ],
)
def test_names_are_relative_safe_paths_from_the_url(url: str, name: str) -> None:
    produced = ZipNames().name_for(url)
    assert produced == name
    assert not produced.startswith("/")
    assert ".." not in produced.split("/")


def test_names_are_unique_bounded_and_keep_queries_apart() -> None:
    names = ZipNames()
    first = names.name_for("https://a.example/page?id=1")
    second = names.name_for("https://a.example/page?id=2")
    assert first != second
    assert first.startswith("a.example/page-")
    assert first.endswith(".md")
    assert names.name_for("https://a.example/page.html") == "a.example/page.md"
    assert names.name_for("https://a.example/page.htm") == "a.example/page-2.md"
    deep = "https://a.example/" + "/".join(["segment" * 20] * 30)
    long_name = names.name_for(deep)
    assert len(long_name) <= MAX_NAME_CHARS
    assert names.name_for(deep) != long_name


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("plain", "plain"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralised(cell: str, safe: str) -> None:
    assert neutralise_cell(cell) == safe
