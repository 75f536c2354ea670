from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isidorus.crawling.terms import ENGLISH_STOP_WORDS, count_terms, distinct_terms


def test_counts_the_terms_of_a_known_page() -> None:
    text = "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox doesn't."
    assert count_terms(text) == {
        "dog": 2,
        "fox": 2,
        "brown": 1,
        "jumps": 1,
        "lazy": 1,
        "quick": 1,
        "sleeps": 1,
    }


def test_terms_come_most_frequent_first_then_alphabetical() -> None:
    counts = count_terms("zebra apple mango apple zebra apple")
    assert list(counts) == ["apple", "zebra", "mango"]


def test_stop_words_are_removed() -> None:
    assert count_terms("this is about them and their things") == {"things": 1}


def test_custom_stop_words_are_compared_case_folded() -> None:
    assert count_terms("Crawler crawler index", stop_words=frozenset({"CRAWLER"})) == {"index": 1}


def test_no_stop_words_keeps_everything_long_enough() -> None:
    assert count_terms("the cat", stop_words=frozenset()) == {"the": 1, "cat": 1}


def test_terms_shorter_than_min_length_are_dropped() -> None:
    assert count_terms("go run fast") == {"run": 1, "fast": 1}
    assert count_terms("go run fast", min_length=4) == {"fast": 1}
    assert count_terms("go x", min_length=1) == {"go": 1, "x": 1}


def test_min_length_counts_characters_not_bytes() -> None:
    assert count_terms("日本 ёж") == {}
    assert count_terms("日本語 ёжи") == {"日本語": 1, "ёжи": 1}


def test_case_is_folded() -> None:
    assert count_terms("Python PYTHON python") == {"python": 3}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Éléphant éléphant ÉLÉPHANT", {"éléphant": 3}),
        ("naïve nai\u0308ve", {"naïve": 2}),
        ("Москва москва МОСКВА", {"москва": 3}),  # noqa: RUF001 (Cyrillic on purpose)
        ("Straße STRASSE strasse", {"strasse": 3}),
        ("ﬁnance finance", {"finance": 2}),
        ("Ｗｉｄｅ wide", {"wide": 2}),  # noqa: RUF001 (fullwidth on purpose)
    ],
)
def test_unicode_terms(text: str, expected: dict[str, int]) -> None:
    assert count_terms(text) == expected


def test_numbers_are_dropped_but_words_with_digits_kept() -> None:
    assert count_terms("2024 1999 3.14159 ٣٣٣ mp3 h264 covid19") == {
        "covid19": 1,
        "h264": 1,
        "mp3": 1,
    }


def test_underscores_and_punctuation_separate_terms() -> None:
    assert count_terms("snake_case-name, (parens) e-mail@example.com") == {
        "case": 1,
        "com": 1,
        "example": 1,
        "mail": 1,
        "name": 1,
        "parens": 1,
        "snake": 1,
    }


def test_contractions_leave_no_stop_word_fragments() -> None:
    assert count_terms("don't won't shouldn't we'll they've") == {}


def test_empty_text_has_no_terms() -> None:
    assert count_terms("") == {}
    assert count_terms("  \n\t ... !!! ") == {}


def test_counting_is_deterministic() -> None:
    text = "beta alpha gamma alpha beta delta " * 50
    assert list(count_terms(text).items()) == list(count_terms(text).items())


def test_the_english_stop_word_list_is_lowercase_and_reasonably_complete() -> None:
    assert len(ENGLISH_STOP_WORDS) >= 150
    assert all(word == word.casefold() for word in ENGLISH_STOP_WORDS)
    assert {"the", "and", "which", "because", "themselves"} <= ENGLISH_STOP_WORDS


def test_unordered_counts_are_the_same_counts() -> None:
    text = "zebra apple mango apple zebra apple the 42 kiwi"
    assert count_terms(text, ordered=False) == count_terms(text)
    assert list(count_terms(text)) == ["apple", "zebra", "kiwi", "mango"]


def _terms_by_definition(text: str) -> dict[str, int]:
    """count_terms' definition, the slow way: every text through NFKC and casefold."""
    tokens = re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", text).casefold())
    counts: dict[str, int] = {}
    for token in tokens:
        if len(token) >= 3 and token not in ENGLISH_STOP_WORDS and not token.isnumeric():
            counts[token] = counts.get(token, 0) + 1
    return counts


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(alphabet=st.characters(max_codepoint=127), max_size=200),
        st.text(max_size=200),
        st.lists(
            st.sampled_from(["Straße", "ÉTÉ", "ﬁle", "The", "x_y", "42", "Ünïcode", "été"])
        ).map(" ".join),
    )
)
def test_ascii_text_takes_a_shorter_way_to_the_same_terms(text: str) -> None:
    assert count_terms(text, ordered=False) == _terms_by_definition(text)
    assert distinct_terms(text) == set(_terms_by_definition(text))
