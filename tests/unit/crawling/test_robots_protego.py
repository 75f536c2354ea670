"""A record of where Protego answers differently from our robots.txt parser (docs/robots.md).

These tests assert Protego's current answers, including the ones we consider wrong, next to
ours. They are not a specification: when one fails, Protego has changed, so re-run the
evaluation in docs/robots.md and update the note (or switch to Protego).
"""

from __future__ import annotations

from importlib.metadata import version

import pytest
from protego import Protego

from isidorus.crawling.robots import RobotsRules
from tests.support import protego_robots

AGENT = "IsidorusBot/1.0 (+https://isidorus.example/bot)"

# (robots.txt, URL, our answer, Protego's answer): True means allowed.
DIFFERENCES = {
    # Pinned by tests/unit/crawling/test_robots.py: these two decided against switching.
    "rule_without_leading_slash": ("User-agent: *\nDisallow: private\n", "/private/x", False, True),
    "versioned_user_agent_line": (
        "User-agent: IsidorusBot/2.0\nDisallow: /mine\n\nUser-agent: *\nDisallow: /\n",
        "/other",
        True,
        False,
    ),
    # Not pinned by the existing tests; found while evaluating.
    "precedence_counts_escaped_length": (
        "User-agent: *\nDisallow: /shop/\nAllow: /*?a\n",
        "/shop/x?a=1",
        False,
        True,
    ),
    "prefix_of_our_token_names_us": ("User-agent: isidorus\nDisallow: /\n", "/x", True, False),
    "encoded_question_mark_is_a_question_mark": (
        "User-agent: *\nDisallow: /a?b\n",
        "/a%3Fb",
        True,
        False,
    ),
    "encoded_equals_is_an_equals": ("User-agent: *\nDisallow: /a=b\n", "/a%3Db", True, False),
    "bom_hides_the_first_line": ("\ufeffUser-agent: *\nDisallow: /x\n", "/x", False, True),
    "index_html_allows_its_directory": (
        "User-agent: *\nDisallow: /\nAllow: /dir/index.html\n",
        "/dir/",
        False,
        True,
    ),
    "robots_txt_with_a_query": ("User-agent: *\nDisallow: /\n", "/robots.txt?x=1", False, True),
    "misspelt_directive": ("User-agent: *\nDissallow: /x\n", "/x", True, False),
    "directive_without_colon": ("User-agent: *\nDisallow /x\n", "/x", True, False),
    "wildcard_in_user_agent": ("User-agent: isidorus*\nDisallow: /x\n", "/x", True, False),
}


def test_the_recorded_protego_version() -> None:
    assert version("protego") == "0.7.0", "re-run the evaluation in docs/robots.md"


@pytest.mark.parametrize(("text", "url", "ours", "protego"), DIFFERENCES.values(), ids=DIFFERENCES)
def test_protego_answers_differently(text: str, url: str, ours: bool, protego: bool) -> None:
    assert RobotsRules.parse(text, AGENT).allows(url) is ours
    assert protego_robots.RobotsRules.parse(text, AGENT).allows(url) is protego


def test_protego_keeps_the_last_crawl_delay_we_keep_the_first() -> None:
    text = "User-agent: *\nCrawl-delay: 1\nCrawl-delay: 5\n"
    assert RobotsRules.parse(text, AGENT).crawl_delay == 1
    assert protego_robots.RobotsRules.parse(text, AGENT).crawl_delay == 5


def test_given_the_full_user_agent_protego_also_obeys_a_group_for_a_later_word() -> None:
    # Why the adapter passes Protego our product token, not the User-Agent header.
    text = "User-agent: bot\nDisallow: /\n"
    assert RobotsRules.parse(text, AGENT).allows("/x")
    assert not Protego.parse(text).can_fetch("/x", AGENT)
