"""Term frequencies of a page's visible text.

Tokens are runs of Unicode letters and digits (the underscore separates tokens), after
NFKC normalisation and case folding, so `Straße` counts as `strasse` and a decomposed
`é` as the composed one. Tokens made only of digits are dropped: numbers are rarely
terms. Scripts written without spaces (Chinese, Japanese, Thai) give one token per run.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from functools import lru_cache

_STOP_WORDS_TEXT = """
    a about above across after afterwards again against ain all almost alone along already
    also although always am among amongst an and another any anybody anyhow anyone anything
    anyway anywhere are aren around as at be became because become becomes becoming been
    before beforehand behind being below beside besides between beyond both but by can
    cannot could couldn did didn do does doesn doing don done down during each either else
    elsewhere enough etc even ever every everyone everything everywhere except few for
    former formerly from further had hadn has hasn have haven having he hence her here
    hereafter hereby herein hers herself him himself his how however i ie if in indeed into
    is isn it its itself just last latter latterly least less ll many may me meanwhile might
    mightn mine more moreover most mostly much must mustn my myself namely needn neither
    never nevertheless next no nobody none noone nor not nothing now nowhere of off often on
    once one only onto or other others otherwise our ours ourselves out over own per perhaps
    please rather re same shan she should shouldn since so some somehow someone something
    sometime sometimes somewhere still such than that the their theirs them themselves then
    thence there thereafter thereby therefore therein thereupon these they this those though
    through throughout thru thus to together too toward towards under until up upon us very
    via was wasn we well were weren what whatever when whence whenever where whereafter
    whereas whereby wherein whereupon wherever whether which while whither who whoever whole
    whom whose why will with within without won would wouldn yet you your yours yourself
    yourselves
"""
ENGLISH_STOP_WORDS: frozenset[str] = frozenset(_STOP_WORDS_TEXT.split())

_TOKEN = re.compile(r"[^\W_]+")
# The same tokens in lowercase ASCII text, found in a third less time.
_ASCII_TOKEN = re.compile(r"[a-z0-9]+")


def folded_tokens(text: str) -> list[str]:
    """The tokens of `text` after NFKC normalisation and case folding, in order. For ASCII
    text NFKC changes nothing and case folding is lower()."""
    if text.isascii():
        return _ASCII_TOKEN.findall(text.lower())
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def count_terms(
    text: str,
    stop_words: frozenset[str] = ENGLISH_STOP_WORDS,
    min_length: int = 3,
    *,
    ordered: bool = True,
) -> dict[str, int]:
    """Count the terms of `text`: most frequent first, ties in alphabetical order, unless
    `ordered` is False (the crawler stores them as an unordered jsonb map).

    A term is a case-folded token of at least `min_length` characters that is not a stop
    word (stop words are compared case-folded too) and not made only of digits.
    """
    folded_stop_words = _casefolded(stop_words)
    # Count every token in C first, then drop the few distinct ones that are not terms.
    counts = Counter(folded_tokens(text))
    for token in [
        token
        for token in counts
        if len(token) < min_length or token in folded_stop_words or token.isnumeric()
    ]:
        del counts[token]
    if not ordered:
        return dict(counts)
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def distinct_terms(
    text: str, stop_words: frozenset[str] = ENGLISH_STOP_WORDS, min_length: int = 3
) -> set[str]:
    """The terms of `text` (as count_terms defines them), without counting or ordering."""
    folded_stop_words = _casefolded(stop_words)
    tokens = set(folded_tokens(text))
    return {
        token
        for token in tokens
        if len(token) >= min_length and token not in folded_stop_words and not token.isnumeric()
    }


@lru_cache(maxsize=8)
def _casefolded(stop_words: frozenset[str]) -> frozenset[str]:
    return frozenset(word.casefold() for word in stop_words)
