from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isidorus.crawling import urls
from isidorus.crawling.urls import (
    MAX_URL_LENGTH,
    canonicalize,
    normalize_host,
    split_url,
    url_fingerprint,
)

PAGE = "http://example.com/dir/page.html"


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        # relative links
        ("other.html", PAGE, "http://example.com/dir/other.html"),
        ("../up.html", "http://example.com/a/b/c.html", "http://example.com/a/up.html"),
        ("/root", PAGE, "http://example.com/root"),
        ("//cdn.example.net/x.js", "https://example.com/", "https://cdn.example.net/x.js"),
        ("?q=1", "http://example.com/p?x=2", "http://example.com/p?q=1"),
        ("sub/", PAGE, "http://example.com/dir/sub/"),
        ("https://other.org/abs", PAGE, "https://other.org/abs"),
        ("../../../../too-far", PAGE, "http://example.com/too-far"),
        # a <base href> is just another base
        ("intro", "http://example.com/docs/", "http://example.com/docs/intro"),
        ("intro", "http://example.com/docs", "http://example.com/intro"),
        # fragments
        ("http://example.com/p#section", None, "http://example.com/p"),
        ("#top", "http://example.com/p?x=1", "http://example.com/p?x=1"),
        ("http://example.com/p?a=1#f?b=2", None, "http://example.com/p?a=1"),
        # query order
        ("http://example.com/?b=2&a=1", None, "http://example.com/?a=1&b=2"),
        ("http://example.com/?a=2&a=1&a=10", None, "http://example.com/?a=1&a=10&a=2"),
        ("http://example.com/?b=&a", None, "http://example.com/?a&b="),
        ("http://example.com/?a=1&&b=2&", None, "http://example.com/?a=1&b=2"),
        ("http://example.com/?", None, "http://example.com/"),
        ("http://example.com/?q=a+b", None, "http://example.com/?q=a+b"),
        # tracking parameters
        ("http://example.com/?utm_source=x&id=3", None, "http://example.com/?id=3"),
        ("http://example.com/?UTM_Medium=x&utm_whatever=y", None, "http://example.com/"),
        ("http://example.com/?gclid=1&fbclid=2&msclkid=3", None, "http://example.com/"),
        ("http://example.com/?mc_cid=1&mc_eid=2&_ga=3&k=v", None, "http://example.com/?k=v"),
        ("http://example.com/?utm=1&ga=2", None, "http://example.com/?ga=2&utm=1"),
        ("http://example.com/?utm%5Fsource=x", None, "http://example.com/"),
        # default ports
        ("http://example.com:80/", None, "http://example.com/"),
        ("https://example.com:443/", None, "https://example.com/"),
        ("http://example.com:443/", None, "http://example.com:443/"),
        ("https://example.com:80/", None, "https://example.com:80/"),
        ("http://example.com:8080/", None, "http://example.com:8080/"),
        ("http://example.com:0080/", None, "http://example.com/"),
        ("http://example.com:/x", None, "http://example.com/x"),
        # dot segments and the path
        ("http://example.com/a/./b/../c", None, "http://example.com/a/c"),
        ("http://example.com/a/b/..", None, "http://example.com/a/"),
        ("http://example.com/a/b/.", None, "http://example.com/a/b/"),
        ("http://example.com/../x", None, "http://example.com/x"),
        ("http://example.com/a/%2E%2E/b", None, "http://example.com/b"),
        ("http://example.com", None, "http://example.com/"),
        ("http://example.com/Dir/File.HTML", None, "http://example.com/Dir/File.HTML"),
        ("http://example.com/dir/", None, "http://example.com/dir/"),
        ("http://example.com/dir", None, "http://example.com/dir"),
        ("http://example.com//double//slash", None, "http://example.com//double//slash"),
        # percent-encoding
        ("http://example.com/%7efoo/%2f%41", None, "http://example.com/~foo/%2FA"),
        ("http://example.com/a b/é", None, "http://example.com/a%20b/%C3%A9"),
        ("http://example.com/%e2%82%ac", None, "http://example.com/%E2%82%AC"),
        ("http://example.com/100%", None, "http://example.com/100%25"),
        ("http://example.com/?q=a b&r=ü", None, "http://example.com/?q=a%20b&r=%C3%BC"),
        ("http://example.com/a:b@c;d=e", None, "http://example.com/a:b@c;d=e"),
        # scheme, host, userinfo
        ("HTTP://EXAMPLE.COM/", None, "http://example.com/"),
        ("http://user:secret@example.com/", None, "http://example.com/"),
        ("http://example.com./", None, "http://example.com/"),
        ("http://%65xample.com/", None, "http://example.com/"),
        ("http://my_host.example.com/", None, "http://my_host.example.com/"),
        ("http://localhost:8000", None, "http://localhost:8000/"),
        ("http://0x1g/", None, "http://0x1g/"),
        # IDNA
        ("http://Bücher.de/", None, "http://xn--bcher-kva.de/"),
        ("http://例え.テスト/", None, "http://xn--r8jz45g.xn--zckzah/"),
        ("http://faß.de/", None, "http://xn--fa-hia.de/"),
        ("http://bücher。de/", None, "http://xn--bcher-kva.de/"),
        ("http://xn--bcher-kva.de/", None, "http://xn--bcher-kva.de/"),
        # numeric hosts
        ("http://2130706433/", None, "http://127.0.0.1/"),
        ("http://0177.0.0.1/", None, "http://127.0.0.1/"),
        ("http://0x7f.0.0.1/", None, "http://127.0.0.1/"),
        ("http://0x7f.1/", None, "http://127.0.0.1/"),
        ("http://127.1/", None, "http://127.0.0.1/"),
        ("http://192.168.257/", None, "http://192.168.1.1/"),
        ("http://[2001:DB8:0:0::1]:8080/", None, "http://[2001:db8::1]:8080/"),
        ("http://[::1]:80/", None, "http://[::1]/"),
        # what browsers forgive in hrefs
        ("  http://example.com/x  ", None, "http://example.com/x"),
        ("http://exam\nple.com/a\tb", None, "http://example.com/ab"),
        ("\\\\evil.example\\path", "http://example.com/", "http://evil.example/path"),
        ("..\\img\\a.png", "http://example.com/dir/p.html", "http://example.com/img/a.png"),
        ("http://example.com/p?x=a\\b", None, "http://example.com/p?x=a%5Cb"),
    ],
)
def test_canonicalize(url: str, base: str | None, expected: str) -> None:
    assert canonicalize(url, base) == expected


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("mailto:someone@example.com", None),
        ("javascript:void(0)", PAGE),
        ("tel:+15551234", PAGE),
        ("data:text/html,hi", PAGE),
        ("ftp://example.com/file", None),
        ("file:///etc/passwd", None),
        ("", None),
        ("", PAGE),
        ("   ", PAGE),
        ("relative/without/base", None),
        ("//example.com/no-scheme", None),
        ("http://", None),
        ("http:///path", None),
        ("http://a..b/", None),
        ("http://exa mple.com/", None),
        ("http://exa<mple.com/", None),
        ("http://example.com:99999/", None),
        ("http://example.com:0/", None),
        ("http://example.com:8o/", None),
        ("http://example.com:1:2/", None),
        ("http://[::1/", None),
        ("http://[fe80::1%25eth0]/", None),
        ("http://[not-ipv6]/", None),
        ("http://1.2.3.4.5/", None),
        ("http://256.256.256.256/", None),
        ("http://4294967296/", None),
        ("http://foo.123/", None),
        ("http://☃☃☃.%FF/", None),
        ("page.html", "mailto:x@example.com"),
    ],
)
def test_canonicalize_refuses(url: str, base: str | None) -> None:
    assert canonicalize(url, base) is None


def test_canonicalize_refuses_a_url_longer_than_the_limit() -> None:
    short_enough = "http://example.com/" + "a" * (MAX_URL_LENGTH - len("http://example.com/"))
    assert canonicalize(short_enough) == short_enough
    assert canonicalize(short_enough + "a") is None


def test_canonicalize_takes_a_custom_length_limit() -> None:
    assert canonicalize("http://example.com/abc", max_length=22) == "http://example.com/abc"
    assert canonicalize("http://example.com/abcd", max_length=22) is None


def test_canonicalize_needs_no_base_for_an_absolute_url() -> None:
    assert canonicalize("http://example.com/x", "http://[broken") == "http://example.com/x"
    assert canonicalize("http://example.com/x", "") == "http://example.com/x"


def test_canonicalize_refuses_a_relative_url_against_an_unusable_base() -> None:
    assert canonicalize("x.html", "http://[broken") is None


def test_url_fingerprint_is_the_sha1_of_the_canonical_url() -> None:
    expected = hashlib.sha1(b"http://example.com/").hexdigest()
    assert url_fingerprint("http://example.com/") == expected


def test_spellings_of_one_page_share_a_fingerprint() -> None:
    spellings = ["HTTP://Example.com:80/a/../?b=1&a=2#x", "http://example.com/?a=2&b=1&utm_id=9"]
    fingerprints = {url_fingerprint(canonicalize(url) or "") for url in spellings}
    assert len(fingerprints) == 1


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.0.258", "10.0.1.2"),
        ("0x", "0.0.0.0"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[2001:DB8:0000::1]", "[2001:db8::1]"),
        ("[::FFFF:1.2.3.4]", "[::ffff:102:304]"),
        ("Example.COM.", "example.com"),
        ("999.1.1.1", "999.1.1.1"),
        ("[nonsense]", "[nonsense]"),
    ],
)
def test_normalize_host(host: str, expected: str) -> None:
    assert normalize_host(host) == expected


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_canonicalize_never_raises_and_is_idempotent(text: str) -> None:
    result = canonicalize(text)
    assert result is None or canonicalize(result) == result


@settings(max_examples=300, deadline=None)
@given(st.text(), st.text())
def test_canonicalize_with_any_base_never_raises(text: str, base: str) -> None:
    result = canonicalize(text, base)
    assert result is None or canonicalize(result) == result


_URL_PIECES = st.sampled_from(
    [
        "http://",
        "HTTPS://",
        "//",
        "/",
        "../",
        "./",
        ".",
        "..",
        "%",
        "%2e",
        "%41",
        "%zz",
        "?",
        "#",
        "&",
        "=",
        "@",
        ":",
        ":80",
        ":443",
        "[",
        "]",
        "::1",
        "\\",
        " ",
        "\t",
        "é",
        "ß",
        "。",
        "xn--",
        "0x7f",
        "127",
        "1",
        "utm_source=x",
        "a=1",
        "b",
        "example.com",
        "bücher.de",
    ]
)


@settings(max_examples=1000, deadline=None)
@given(st.lists(_URL_PIECES, max_size=12).map("".join), st.sampled_from([None, PAGE]))
def test_url_like_input_canonicalizes_to_a_stable_plain_ascii_url(
    text: str, base: str | None
) -> None:
    result = canonicalize(text, base)
    if result is not None:
        assert result.startswith(("http://", "https://"))
        assert result.isascii()
        assert "#" not in result
        assert " " not in result
        assert len(result) <= MAX_URL_LENGTH
        assert canonicalize(result) == result


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a/b.html",
        "https://example.com:8443/p;params?q=1&r=2#frag",
        "http://example.com",
        "http://example.com?q",
        "http://example.com#top",
        "http://example.com/?",
        "http://user:pw@example.com/secret",
        "http://[::1]:8080/v6",
        "HTTP://Example.com/Upper",
        "ftp://example.com/file",
        "http://exa mple.com/space",
        "http://example.com/caf\u00e9",
        " http://example.com/leading-space",
        "http://example.com/tab\there",
        "/relative/path?x=1",
        "mailto:someone@example.com",
        "http:///no-host",
        "http://example.com//double//slashes",
    ],
)
def test_split_url_answers_as_urlsplit(url: str) -> None:
    parts = urlsplit(url)
    assert split_url(url) == (parts.scheme, parts.netloc, parts.path, parts.query)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["http://", "https://", "HTTP://", "http:/", ""]),
    st.text(alphabet="ab.:@[]1-", max_size=12),
    st.text(alphabet="/a%?#;=& \u00e9", max_size=20),
)
def test_split_url_matches_urlsplit_on_arbitrary_input(scheme: str, host: str, rest: str) -> None:
    url = scheme + host + rest
    try:
        expected = urlsplit(url)
    except ValueError as error:
        with pytest.raises(ValueError, match=re.escape(str(error))):
            split_url(url)
        return
    assert split_url(url) == (expected.scheme, expected.netloc, expected.path, expected.query)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["http://", "https://"]),
    st.sampled_from(["ex.com", "a.b-c", "127.0.0.1", "127.1", "0x7f.1", "1.2.3.a", "x_y", "a."]),
    st.sampled_from(["", ":80", ":443", ":8080", ":065", ":65536"]),
    st.text(alphabet="/ab.%~!$&'()*+,;=:@-_Z09?#", max_size=16),
)
def test_a_url_taken_as_canonical_already_is_what_the_full_canonicalisation_gives(
    scheme: str, host: str, port: str, path: str
) -> None:
    url = f"{scheme}{host}{port}/{path}"
    if urls._is_canonical_already(url, MAX_URL_LENGTH):
        assert urls._canonical_absolute.__wrapped__(url, MAX_URL_LENGTH) == url


def test_the_plain_links_of_a_site_take_the_short_way() -> None:
    for url in ("http://127.0.0.1:8000/docs/page-1.html", "https://example.com/a/b"):
        assert urls._is_canonical_already(url, MAX_URL_LENGTH)
    for url in ("http://example.com:80/", "http://127.1/", "http://a/b/../c", "http://a/?q"):
        assert not urls._is_canonical_already(url, MAX_URL_LENGTH)
