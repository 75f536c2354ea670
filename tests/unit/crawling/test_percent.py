from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from isidorus.crawling.percent import normalize_percent_encoding

PATH_SAFE = "!$&'()*+,;=:@/"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/plain/path", "/plain/path"),
        ("/%7e%41%2d", "/~A-"),
        ("/%2f%3a", "/%2F%3A"),
        ("/a b", "/a%20b"),
        ("/é", "/%C3%A9"),
        ("/%", "/%25"),
        ("/%g1", "/%25g1"),
        ("/%25", "/%25"),
        ('/"<>\\^`{|}', "/%22%3C%3E%5C%5E%60%7B%7C%7D"),
        ("/\ud800", "/%ED%A0%80"),
    ],
)
def test_normalize_percent_encoding(text: str, expected: str) -> None:
    assert normalize_percent_encoding(text, safe=PATH_SAFE) == expected


def test_characters_outside_safe_are_encoded() -> None:
    assert normalize_percent_encoding("a/b?c", safe="") == "a%2Fb%3Fc"


@given(st.text())
def test_normalizing_twice_changes_nothing(text: str) -> None:
    once = normalize_percent_encoding(text, safe=PATH_SAFE)
    assert once.isascii()
    assert normalize_percent_encoding(once, safe=PATH_SAFE) == once
