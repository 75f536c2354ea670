"""The offline summary: a few of the page's own sentences, picked by term weight and position.

Pure Python, no Django. A sentence scores the sum of its distinct terms' weights (term
frequency in the whole page, damped by log, terms of the title counted double), divided
by the square root of its term count so long sentences do not win by length alone, plus
a bonus that decays with position (pages tend to say what they are about first). The best
sentences are returned in page order.
"""

from __future__ import annotations

import math
import re

from isidorus.crawling.terms import ENGLISH_STOP_WORDS, count_terms, distinct_terms, folded_tokens

MODEL_NAME = "offline/extractive"
# extractive-2: summarises the start of the page an LLM is sent (SUMMARY_MAX_INPUT_TOKENS).
PROMPT_VERSION = "extractive-2"
# A "sentence" longer than this (text without punctuation) is cut at a word boundary.
MAX_SENTENCE_CHARS = 400
MIN_SENTENCE_TERMS = 2
POSITION_WEIGHT = 0.6
# Lines of at most this many words that do not end like a sentence are not candidates.
MAX_HEADING_WORDS = 8

# Ideographic full stop and full-width ! and ? end sentences without a following space.
_CJK_ENDS = "\u3002\uff01\uff1f"
_SENTENCE_END = re.compile(rf"(?<=[.!?{_CJK_ENDS}])\s+|(?<=[{_CJK_ENDS}])")
# The same split points in a line whose whitespace is single spaces and that has no CJK
# end: a space after a stop. Starting with a literal, it is searched for at the spaces
# only (the lookbehind above is tried at every character: twice the time).
_SPACE_AFTER_STOP = re.compile(r" (?<=[.!?] )")
_HAS_CJK_END = re.compile(rf"[{_CJK_ENDS}]")
# A stop, then perhaps closing quotes or brackets.
_CLOSERS = "\"')]\u00bb\u2019\u201d"
_ENDS_SENTENCE = re.compile(rf"[.!?:;{_CJK_ENDS}][{re.escape(_CLOSERS)}]*$")


def split_sentences(text: str) -> list[str]:
    """Sentences in order; a line break (a block boundary in page text) ends one too."""
    sentences: list[str] = []
    for line in text.split("\n"):
        spaced = " ".join(line.split())
        splitter = _SENTENCE_END if _HAS_CJK_END.search(spaced) else _SPACE_AFTER_STOP
        for raw in splitter.split(spaced):
            sentence = raw.strip()
            while len(sentence) > MAX_SENTENCE_CHARS:
                cut = sentence[:MAX_SENTENCE_CHARS]
                head = cut.rpartition(" ")[0] or cut
                sentences.append(head.strip())
                sentence = sentence[len(head) :].strip()
            if sentence:
                sentences.append(sentence)
    return sentences


def _is_heading_like(sentence: str) -> bool:
    """A short line without an ending stop: a heading or a label, not a sentence."""
    return len(sentence.split()) <= MAX_HEADING_WORDS and not _ENDS_SENTENCE.search(sentence)


def _weights(text: str, title: str) -> dict[str, float]:
    counts = count_terms(text, ENGLISH_STOP_WORDS, ordered=False)
    for term in distinct_terms(title, ENGLISH_STOP_WORDS):
        counts[term] = counts.get(term, 0) * 2 + 1
    return {term: 1.0 + math.log(count) for term, count in counts.items()}


def extractive_summary(text: str, *, title: str = "", sentences: int = 3) -> str:
    """Up to `sentences` sentences of `text`, in page order; "" for a page without text."""
    every_sentence = split_sentences(text)
    # Headings and labels are left out, unless the page has nothing else.
    candidates = [s for s in every_sentence if not _is_heading_like(s)] or every_sentence
    if len(candidates) <= sentences:
        return " ".join(candidates)
    weights = _weights(text, title)
    top = max(weights.values(), default=1.0)
    scored: list[tuple[float, int]] = []
    for index, sentence in enumerate(candidates):
        # A sentence's terms are among the page's (weights' keys): no filtering per token.
        terms = weights.keys() & folded_tokens(sentence)
        if len(terms) < MIN_SENTENCE_TERMS:
            continue
        content = sum(map(weights.__getitem__, terms)) / (top * math.sqrt(len(terms)))
        scored.append((content + POSITION_WEIGHT / (1 + index), index))
    if not scored:
        return " ".join(candidates[:sentences])
    best = sorted(scored, key=lambda pair: (-pair[0], pair[1]))[:sentences]
    chosen = sorted(index for _, index in best)
    return " ".join(candidates[index] for index in chosen)
