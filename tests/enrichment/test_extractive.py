"""The offline summary: the page's own key sentences, pure Python."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from isidorus.enrichment.extractive import extractive_summary, split_sentences
from isidorus.enrichment.summaries import Summary, _PageInput, summarize_offline
from tests.enrichment.helpers import ARTICLE


def test_the_summary_keeps_the_sentences_about_the_page_topic() -> None:
    summary = extractive_summary(ARTICLE, title="Bell Rock lighthouse", sentences=3)
    chosen = split_sentences(summary)
    assert len(chosen) == 3
    assert all(sentence in ARTICLE for sentence in chosen)
    assert "lighthouse" in summary.lower()
    assert "keepers" in summary.lower()
    # Sentences that say nothing about the topic are left out.
    assert "gift shop" not in summary
    assert "weather" not in summary


def test_sentences_stay_in_page_order() -> None:
    summary = extractive_summary(ARTICLE, title="Bell Rock lighthouse", sentences=3)
    positions = [ARTICLE.index(sentence) for sentence in split_sentences(summary)]
    assert positions == sorted(positions)


def test_a_short_page_is_its_own_summary_and_an_empty_page_has_none() -> None:
    assert extractive_summary("Alpha page. To B", sentences=3) == "Alpha page."  # "To B": a label
    assert extractive_summary("Contact", sentences=3) == "Contact"  # nothing else to say
    assert extractive_summary("   ", sentences=3) == ""


def test_text_without_punctuation_is_cut_into_bounded_pieces() -> None:
    text = " ".join(["lighthouse keepers"] * 500)
    summary = extractive_summary(text, sentences=2)
    assert 0 < len(summary) <= 2 * 400 + 1


def test_other_languages_and_scripts_are_split_into_sentences() -> None:
    assert split_sentences("Der Leuchtturm steht. Er ist alt! 灯台は古い。今も光る\uff1f ok") == [
        "Der Leuchtturm steht.",
        "Er ist alt!",
        "灯台は古い。",
        "今も光る\uff1f",
        "ok",
    ]
    german = (
        "Der Leuchtturm von Bell Rock steht im Meer. Die Wärter lebten im Leuchtturm. "
        "Das Wetter war oft schlecht. Heute zeigt ein Museum die Geschichte der Wärter."
    )
    summary = extractive_summary(german, title="Leuchtturm", sentences=2)
    assert "Leuchtturm" in summary


def test_lines_end_sentences_and_headings_are_not_picked() -> None:
    text = (
        "Installing Larkspur\n"
        "Larkspur runs on any system with Python 3.10 or newer\n"
        "Checking the installation carefully\n"
        "Run the bundled self-check before the first job. It prints a report.\n"
        "Upgrading\n"
        "Stop every worker before you upgrade the queue file."
    )
    assert split_sentences(text)[:3] == [
        "Installing Larkspur",
        "Larkspur runs on any system with Python 3.10 or newer",
        "Checking the installation carefully",
    ]
    summary = extractive_summary(text, title="Installing Larkspur", sentences=3)
    assert "Checking the installation carefully" not in summary
    assert "Upgrading" not in summary
    # A long line without a stop is a sentence, not a heading.
    assert summary.startswith("Larkspur runs on any system with Python 3.10 or newer ")


def test_the_offline_summary_reads_only_the_start_an_llm_would_be_sent(settings: Any) -> None:
    settings.SUMMARY_MAX_INPUT_TOKENS = 100  # about 400 characters
    settings.SUMMARY_SENTENCES = 1
    head = "The lighthouse stands on a reef. Its keepers lived in the tower. " * 5
    tail = "Zebra crossings zebra stripes zebra herds zebra zebra zebra zebra. " * 20
    page = _PageInput(id=1, url="http://127.0.0.1:9/", title="zebra", text=head + tail)
    summary = summarize_offline(page)
    assert isinstance(summary, Summary)
    assert "zebra" not in summary.text.lower()
    assert summary.prompt_version == "extractive-2"
    settings.SUMMARY_MAX_INPUT_TOKENS = 10_000  # the whole page: the zebra sentences win
    whole = summarize_offline(page)
    assert isinstance(whole, Summary)
    assert "zebra" in whole.text.lower()


_ENDS_OR_SPACE = st.sampled_from(
    [".", "!", "?", " ", "  ", "\n", "\t", "\u3002", "\uff01", "\uff1f", "'", ")"]
)


@hypothesis_settings(max_examples=400, deadline=None)
@given(
    st.lists(st.one_of(_ENDS_OR_SPACE, st.sampled_from(["Alpha", "b", "灯台", "x.y"]))).map("".join)
)
def test_lines_without_a_cjk_stop_split_where_the_general_pattern_splits(text: str) -> None:
    by_definition = [
        sentence
        for line in text.split("\n")
        for raw in re.split(
            r"(?<=[.!?\u3002\uff01\uff1f])\s+|(?<=[\u3002\uff01\uff1f])", " ".join(line.split())
        )
        if (sentence := raw.strip())
    ]
    assert split_sentences(text) == by_definition
