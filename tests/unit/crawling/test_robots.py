from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isidorus.crawling.robots import MAX_ROBOTS_BYTES, RobotsRule, RobotsRules, rules_for_status

AGENT = "IsidorusBot/1.0 (+https://isidorus.example/bot)"

# The example of RFC 9309, section 5.1.
RFC_EXAMPLE = """\
User-Agent: *
Disallow: *.gif$
Disallow: /example/
Allow: /publications/

User-Agent: foobot
Disallow:/
Allow:/example/page.html
Allow:/example/allowed.gif

User-Agent: barbot
User-Agent: bazbot
Disallow: /example/page.html

User-Agent: quxbot
"""


@pytest.mark.parametrize(
    ("agent", "path", "expected"),
    [
        ("foobot", "/example/page.html", True),
        ("foobot", "/example/allowed.gif", True),
        ("foobot", "/example/other.html", False),
        ("foobot", "/", False),
        ("barbot", "/example/page.html", False),
        ("bazbot", "/example/page.html", False),
        ("barbot", "/example/other.gif", True),
        ("quxbot", "/example/page.html", True),
        ("otherbot", "/images/a.gif", False),
        ("otherbot", "/images/a.gif?size=2", True),
        ("otherbot", "/example/anything", False),
        ("otherbot", "/publications/paper", True),
        ("otherbot", "/", True),
    ],
)
def test_rfc_9309_example(agent: str, path: str, expected: bool) -> None:
    assert RobotsRules.parse(RFC_EXAMPLE, agent).allows(path) is expected


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/fish", "/fish", True),
        ("/fish", "/fish.html", True),
        ("/fish", "/fish/salmon.html", True),
        ("/fish", "/fishheads", True),
        ("/fish", "/Fish.asp", False),
        ("/fish", "/catfish", False),
        ("/fish*", "/fishheads/yummy.html", True),
        ("/fish*", "/catfish", False),
        ("/fish/", "/fish/?id=anything", True),
        ("/fish/", "/fish", False),
        ("/*.php", "/index.php", True),
        ("/*.php", "/folder/filename.php?parameters", True),
        ("/*.php", "/filename.php/", True),
        ("/*.php", "/", False),
        ("/*.php", "/windows.PHP", False),
        ("/*.php$", "/folder/filename.php", True),
        ("/*.php$", "/filename.php?parameters", False),
        ("/*.php$", "/filename.php5", False),
        ("/fish*.php", "/fishheads/catfish.php?parameters", True),
        ("/fish*.php", "/Fish.PHP", False),
        ("/a*b*c$", "/abc", True),
        ("/a*b*c$", "/axxbyyc", True),
        ("/a*b*c$", "/abcabd", False),
        ("/a*bc$", "/abcbc", True),
        ("/$", "/", True),
        ("/$", "/x", False),
        ("/**x", "/yyx", True),
        ("/a$b", "/a$b", True),
    ],
)
def test_pattern_matching(pattern: str, path: str, expected: bool) -> None:
    assert RobotsRule(allow=False, pattern=pattern).matches(path) is expected


def _rules(body: str) -> RobotsRules:
    return RobotsRules.parse(f"User-agent: *\n{body}", AGENT)


def test_the_longest_match_wins() -> None:
    rules = _rules("Allow: /p\nDisallow: /")
    assert rules.allows("/page")
    assert not rules.allows("/other")


def test_allow_wins_a_tie() -> None:
    rules = _rules("Disallow: /folder\nAllow: /folder")
    assert rules.allows("/folder/page")


def test_a_longer_wildcard_pattern_beats_a_shorter_literal() -> None:
    rules = _rules("Allow: /page\nDisallow: /*.htm")
    assert not rules.allows("/page.htm")
    assert rules.allows("/page.php")


def test_end_anchor_allows_only_the_root() -> None:
    rules = _rules("Allow: /$\nDisallow: /")
    assert rules.allows("/")
    assert not rules.allows("/page.htm")


def test_the_query_string_is_matched() -> None:
    rules = _rules("Disallow: /*?")
    assert rules.allows("/search")
    assert not rules.allows("/search?q=x")
    assert not rules.allows("https://example.com/search?q=x")


def test_a_fragment_is_not_matched() -> None:
    rules = _rules("Disallow: /page$")
    assert not rules.allows("https://example.com/page#top")
    assert not rules.allows("/page#top")


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ("/foo/bar/ツ", "/foo/bar/%E3%83%84"),
        ("/foo/bar/%E3%83%84", "/foo/bar/ツ"),
        ("/foo/bar/%e3%83%84", "/foo/bar/%E3%83%84"),
        ("/path%7Efile", "/path~file"),
        ("/path~file", "/path%7efile"),
        ("/a%3cd.html", "/a%3Cd.html"),
        ("/with space", "/with%20space"),
    ],
)
def test_matching_ignores_percent_encoding_differences(rule: str, path: str) -> None:
    assert not _rules(f"Disallow: {rule}").allows(path)


def test_an_encoded_slash_is_not_a_slash() -> None:
    assert _rules("Disallow: /a/b").allows("/a%2Fb")


def test_a_url_is_matched_by_its_path() -> None:
    rules = _rules("Disallow: /private/")
    assert not rules.allows("https://example.com/private/x")
    assert rules.allows("https://example.com/public/private/")
    assert rules.allows("https://example.com")


def test_an_empty_disallow_allows_everything() -> None:
    assert _rules("Disallow:").allows("/anything")


def test_robots_txt_is_always_allowed() -> None:
    assert RobotsRules.disallow_all().allows("/robots.txt")
    assert RobotsRules.disallow_all().allows("https://example.com/robots.txt")
    assert not RobotsRules.disallow_all().allows("/robots.txt.bak")


def test_allow_all_and_disallow_all() -> None:
    assert RobotsRules.allow_all().allows("/x")
    assert not RobotsRules.disallow_all().allows("/x")
    assert not RobotsRules.disallow_all().allows("/")


def test_a_pattern_without_leading_slash_is_rooted() -> None:
    assert not _rules("Disallow: private").allows("/private/x")


def test_our_group_is_chosen_by_product_token_ignoring_case() -> None:
    text = "User-agent: *\nDisallow: /\n\nUser-agent: isidorusbot\nDisallow: /private\n"
    rules = RobotsRules.parse(text, AGENT)
    assert rules.allows("/public")
    assert not rules.allows("/private")


def test_a_versioned_user_agent_line_names_its_product_token() -> None:
    text = "User-agent: IsidorusBot/2.0\nDisallow: /mine\n\nUser-agent: *\nDisallow: /\n"
    assert RobotsRules.parse(text, AGENT).allows("/other")


def test_the_star_group_applies_when_no_group_names_us() -> None:
    text = "User-agent: googlebot\nDisallow: /\n\nUser-agent: *\nDisallow: /private\n"
    rules = RobotsRules.parse(text, AGENT)
    assert rules.allows("/public")
    assert not rules.allows("/private")


def test_without_a_matching_group_everything_is_allowed() -> None:
    assert RobotsRules.parse("User-agent: googlebot\nDisallow: /\n", AGENT).allows("/x")


def test_a_token_that_only_starts_like_ours_does_not_match() -> None:
    text = "User-agent: isidorusbotx\nDisallow: /\n"
    assert RobotsRules.parse(text, AGENT).allows("/x")


def test_the_most_specific_token_wins() -> None:
    text = (
        "User-agent: isidorusbot\nDisallow: /general\n\n"
        "User-agent: isidorusbot-images\nDisallow: /images\n"
    )
    images = RobotsRules.parse(text, "IsidorusBot-Images/1.0")
    assert images.allows("/general")
    assert not images.allows("/images")
    assert not RobotsRules.parse(text, AGENT).allows("/general")


def test_a_sub_token_falls_back_to_its_parent_token() -> None:
    text = "User-agent: *\nDisallow: /\n\nUser-agent: isidorusbot\nDisallow: /private\n"
    assert RobotsRules.parse(text, "IsidorusBot-Images/1.0").allows("/public")


def test_groups_for_the_same_agent_are_merged() -> None:
    text = (
        "User-agent: isidorusbot\nDisallow: /a\n\n"
        "User-agent: other\nDisallow: /b\n\n"
        "User-agent: IsidorusBot\nDisallow: /c\n"
    )
    rules = RobotsRules.parse(text, AGENT)
    assert not rules.allows("/a")
    assert rules.allows("/b")
    assert not rules.allows("/c")


def test_consecutive_user_agent_lines_share_one_group() -> None:
    text = "User-agent: a\nUser-agent: isidorusbot\nDisallow: /shared\n"
    assert not RobotsRules.parse(text, AGENT).allows("/shared")


def test_rules_before_any_user_agent_are_ignored() -> None:
    assert RobotsRules.parse("Disallow: /\nUser-agent: *\nDisallow: /x\n", AGENT).allows("/y")


def test_crawl_delay_of_our_group() -> None:
    text = "User-agent: *\nCrawl-delay: 10\n\nUser-agent: isidorusbot\nCrawl-delay: 2.5\n"
    assert RobotsRules.parse(text, AGENT).crawl_delay == 2.5
    assert RobotsRules.parse(text, "otherbot").crawl_delay == 10


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf", ""])
def test_an_invalid_crawl_delay_is_ignored(value: str) -> None:
    assert _rules(f"Crawl-delay: {value}").crawl_delay is None


def test_no_crawl_delay_is_none() -> None:
    assert _rules("Disallow: /x").crawl_delay is None


def test_crawl_delay_does_not_end_the_user_agent_list_early() -> None:
    text = "User-agent: isidorusbot\nCrawl-delay: 3\nDisallow: /x\n"
    rules = RobotsRules.parse(text, AGENT)
    assert rules.crawl_delay == 3
    assert not rules.allows("/x")


def test_bom_crlf_comments_and_odd_spacing_are_tolerated() -> None:
    text = (
        "\ufeff# robots for example.com\r\n"
        "USER-AGENT :  *   # everyone\r\n"
        "disallow:/private # keep out\r\n"
        "this line is nonsense\r\n"
        "Sitemap: https://example.com/sitemap.xml\r"
        "Allow: /private/open\r\n"
    )
    rules = RobotsRules.parse(text, AGENT)
    assert not rules.allows("/private/x")
    assert rules.allows("/private/open/y")


def test_only_the_first_500_kib_are_parsed() -> None:
    padding = "# padding\n" * (MAX_ROBOTS_BYTES // 10 + 1)
    text = f"User-agent: *\nDisallow: /early\n{padding}Disallow: /late\n"
    rules = RobotsRules.parse(text, AGENT)
    assert not rules.allows("/early")
    assert rules.allows("/late")


def test_a_rule_cut_by_the_size_limit_is_dropped_not_shortened() -> None:
    head = "User-agent: *\n"
    filler = "#" * (MAX_ROBOTS_BYTES - len(head) - len("Disallow: /p")) + "\n"
    text = head + filler[:-1] + "\nDisallow: /private-area\n"
    assert len(text.encode()) > MAX_ROBOTS_BYTES
    assert RobotsRules.parse(text, AGENT).allows("/p")


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text(max_size=40))
def test_garbage_never_raises(text: str, path: str) -> None:
    rules = RobotsRules.parse(text, AGENT)
    assert isinstance(rules.allows(path), bool)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "User-agent: *",
                "User-agent: IsidorusBot",
                "Allow: ",
                "Disallow: ",
                "/",
                "*",
                "$",
                "a",
                "%",
                "%2F",
                "?",
                "\n",
                "#",
                "Crawl-delay: 1",
                "ツ",
            ]
        ),
        max_size=30,
    ).map("".join),
    st.text(alphabet="/a*$%2F?ツ", max_size=20),
)
def test_robots_like_input_never_raises(text: str, path: str) -> None:
    assert isinstance(RobotsRules.parse(text, AGENT).allows(path), bool)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, False),
        (301, True),
        (401, True),
        (403, True),
        (404, True),
        (410, True),
        (429, False),
        (500, False),
        (503, False),
        (0, False),
        (100, False),
        (600, False),
    ],
)
def test_rules_for_status(status: int, expected: bool) -> None:
    rules = rules_for_status(status, "User-agent: *\nDisallow: /private", AGENT)
    assert rules.allows("/private") is expected
