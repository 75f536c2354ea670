from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from isidorus.crawling.scope import (
    MAX_PATTERN_LENGTH,
    Scope,
    UrlFilter,
    in_scope,
    path_in_prefix,
    registrable_domain,
    validate_patterns,
)

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("example.com", "example.com"),
        ("www.example.com", "example.com"),
        ("a.b.c.example.com", "example.com"),
        ("shop.example.co.uk", "example.co.uk"),
        ("example.co.uk", "example.co.uk"),
        ("co.uk", "co.uk"),
        ("alice.github.io", "alice.github.io"),
        ("www.alice.github.io", "alice.github.io"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("WWW.Example.COM.", "example.com"),
        ("localhost", "localhost"),
        ("intranet", "intranet"),
        ("127.0.0.1", "127.0.0.1"),
        ("[2001:db8::1]", "[2001:db8::1]"),
    ],
)
def test_registrable_domain(host: str, expected: str) -> None:
    assert registrable_domain(host) == expected


def test_registrable_domain_needs_no_network() -> None:
    script = textwrap.dedent(
        """
        import socket

        def refuse(*args, **kwargs):
            raise AssertionError("network access attempted")

        socket.socket.connect = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from isidorus.crawling.scope import registrable_domain
        print(registrable_domain("shop.example.co.uk"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "example.co.uk"


@pytest.mark.parametrize(
    ("url", "start", "expected"),
    [
        ("https://example.com/a/b", "https://example.com/", True),
        ("http://example.com/a", "https://example.com/", True),
        ("https://example.com:8443/", "https://example.com/", False),
        ("https://example.com:8443/x", "https://example.com:8443/", True),
        ("https://www.example.com/", "https://example.com/", False),
        ("https://example.com/", "https://www.example.com/", False),
        ("https://example.org/", "https://example.com/", False),
    ],
)
def test_host_scope_is_the_same_host_and_port(url: str, start: str, expected: bool) -> None:
    assert in_scope(url, start, "host") is expected


@pytest.mark.parametrize(
    ("url", "start", "expected"),
    [
        ("https://blog.example.com/", "https://example.com/", True),
        ("https://example.com/", "https://www.example.com/", True),
        ("https://a.example.com/", "https://b.example.com/", True),
        ("http://example.com:8080/", "https://example.com/", True),
        ("https://example.org/", "https://example.com/", False),
        ("https://notexample.com/", "https://example.com/", False),
        ("https://shop.example.co.uk/", "https://www.example.co.uk/", True),
        ("https://other.co.uk/", "https://example.co.uk/", False),
        ("https://bob.github.io/", "https://alice.github.io/", False),
        ("https://docs.alice.github.io/", "https://alice.github.io/", True),
        ("http://127.0.0.1:9000/", "http://127.0.0.1/", True),
        ("http://127.0.0.2/", "http://127.0.0.1/", False),
        ("http://[::1]:8080/", "http://[::1]/", True),
    ],
)
def test_domain_scope_is_the_registrable_domain(url: str, start: str, expected: bool) -> None:
    assert in_scope(url, start, "domain") is expected


@pytest.mark.parametrize(
    ("url", "start", "expected"),
    [
        ("https://example.com/docs/other.html", "https://example.com/docs/intro.html", True),
        ("https://example.com/docs/", "https://example.com/docs/intro.html", True),
        ("https://example.com/docs/a/b", "https://example.com/docs/intro.html", True),
        ("https://example.com/doc", "https://example.com/docs/intro.html", False),
        ("https://example.com/", "https://example.com/docs/intro.html", False),
        ("https://example.com/docs/a", "https://example.com/docs/", True),
        ("https://example.com/docs", "https://example.com/docs/", False),
        ("https://example.com/docs", "https://example.com/docs", True),
        ("https://example.com/docs/a", "https://example.com/docs", True),
        ("https://example.com/docsearch", "https://example.com/docs", False),
        ("https://example.com/anything", "https://example.com/", True),
        ("https://example.com/docs/a?page=2", "https://example.com/docs/?x=1", True),
        ("http://example.com/docs/a", "https://example.com/docs/", False),
        ("https://example.com:8443/docs/a", "https://example.com/docs/", False),
        ("https://www.example.com/docs/a", "https://example.com/docs/", False),
    ],
)
def test_prefix_scope_is_under_the_start_directory(url: str, start: str, expected: bool) -> None:
    assert in_scope(url, start, "prefix") is expected


@pytest.mark.parametrize(
    ("path", "start_path", "expected"),
    [
        ("/docs/x", "/docs/intro.html", True),
        ("/docs/x", "/docs/", True),
        ("/docs", "/docs", True),
        ("/docs-old/x", "/docs", False),
        ("/api/v1.2/x", "/api/v1.2", True),
        ("/api/other", "/api/v1.2", True),
    ],
)
def test_path_in_prefix(path: str, start_path: str, expected: bool) -> None:
    assert path_in_prefix(path, start_path) is expected


@pytest.mark.parametrize("scope", ["host", "domain", "prefix"])
def test_nothing_is_in_scope_of_a_url_that_is_not_http(scope: Scope) -> None:
    assert in_scope("mailto:a@example.com", "https://example.com/", scope) is False
    assert in_scope("https://example.com/", "not a url", scope) is False


def test_an_unknown_scope_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown scope 'site'"):
        in_scope("https://example.com/", "https://example.com/", "site")  # type: ignore[arg-type]


def test_url_filter_without_patterns_allows_everything() -> None:
    assert UrlFilter(include=[], exclude=[]).allows("https://example.com/anything")


def test_url_filter_include_patterns_must_match_one() -> None:
    url_filter = UrlFilter(include=[r"/blog/", r"/news/"], exclude=[])
    assert url_filter.allows("https://example.com/news/today")
    assert not url_filter.allows("https://example.com/shop/")


def test_url_filter_exclude_patterns_win_over_include() -> None:
    url_filter = UrlFilter(include=[r"/blog/"], exclude=[r"\?page=\d+"])
    assert url_filter.allows("https://example.com/blog/post")
    assert not url_filter.allows("https://example.com/blog/?page=2")


def test_url_filter_searches_anywhere_in_the_url() -> None:
    assert UrlFilter(include=["example"], exclude=[]).allows("https://www.example.com/")
    assert not UrlFilter(include=["^example"], exclude=[]).allows("https://www.example.com/")


def test_url_filter_refuses_invalid_patterns() -> None:
    with pytest.raises(ValueError, match="not a valid regular expression"):
        UrlFilter(include=[], exclude=["(unclosed"])


def test_validate_patterns_accepts_valid_patterns() -> None:
    assert validate_patterns([r"^https://example\.com/", "", r"\.(pdf|zip)$"]) == []


def test_validate_patterns_reports_each_invalid_pattern() -> None:
    errors = validate_patterns(["ok", "(unclosed", "[z-a]"])
    assert len(errors) == 2
    assert errors[0].startswith("pattern 1 '(unclosed' is not a valid regular expression")
    assert errors[1].startswith("pattern 2 '[z-a]'")


def test_validate_patterns_reports_a_pattern_that_is_too_long() -> None:
    assert validate_patterns(["a" * MAX_PATTERN_LENGTH]) == []
    errors = validate_patterns(["a" * (MAX_PATTERN_LENGTH + 1)])
    assert errors == [f"pattern 0 is longer than {MAX_PATTERN_LENGTH} characters (501)"]
