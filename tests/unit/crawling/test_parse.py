from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from isidorus.crawling.parse import (
    MAX_IMAGES_PER_PAGE,
    ImageRef,
    Link,
    ParsedPage,
    parse_html,
    parse_srcset,
)

PAGE = "https://example.com/dir/page.html"


def parse(html: str, url: str = PAGE, **options: object) -> ParsedPage:
    return parse_html(html.encode("utf-8"), url, **options)  # type: ignore[arg-type]


# charset


def test_the_header_charset_wins_over_the_meta_charset() -> None:
    body = '<meta charset="iso-8859-5"><title>Привет</title>'.encode("cp1251")
    page = parse_html(body, PAGE, header_charset="windows-1251")
    assert (page.title, page.charset) == ("Привет", "cp1251")


def test_the_meta_charset_is_used_without_a_header() -> None:
    body = '<meta http-equiv="content-type" content="text/html; charset=koi8-r"><p>Привет'
    page = parse_html(body.encode("koi8-r"), PAGE)
    assert (page.text, page.charset) == ("Привет", "koi8-r")


def test_an_unknown_charset_falls_back_to_utf8() -> None:
    page = parse_html("<title>é</title>".encode(), PAGE, header_charset="klingon")
    assert (page.title, page.charset) == ("é", "utf-8")


def test_invalid_utf8_is_replaced_not_fatal() -> None:
    page = parse_html(b"<title>caf\xe9</title><p>ok \xff\xfe\xc3</p>", PAGE)
    assert page.title == "caf\ufffd"
    assert page.text.startswith("ok ")


# title


def test_the_title_is_stripped_and_collapsed() -> None:
    assert parse("<title>\n  My   page\t title </title>").title == "My page title"


def test_an_svg_title_is_not_the_page_title() -> None:
    html = "<body><svg><g><title>icon</title></g></svg><p>x</p></body>"
    assert parse(html).title == ""
    assert parse("<title>Real</title>" + html).title == "Real"
    assert parse(html + "<title>Late</title>").title == "Late"


def test_a_page_without_title_has_an_empty_one() -> None:
    assert parse("<p>no title</p>").title == ""


# visible text


def test_invisible_elements_are_not_text() -> None:
    html = (
        "<html><head><title>T</title><style>p{}</style><script>var a</script></head><body>"
        "<p>seen</p><script>hidden()</script><style>.x{}</style><noscript>nojs</noscript>"
        "<template><p>tpl</p></template><svg><text>vector</text></svg><p>also seen</p>"
        "</body></html>"
    )
    assert parse(html).text == "seen also seen"


def test_blocks_are_separated_and_inline_markup_is_not() -> None:
    html = "<div>one</div>two<p>th<b>r</b>ee</p><ul><li>four</li><li>five</li></ul>six<br>seven"
    assert parse(html).text == "one two three four five six seven"


def test_whitespace_is_collapsed() -> None:
    assert parse("<p>  a \n\n b\t\tc  </p>").text == "a b c"


def test_text_is_bounded_at_a_word_boundary() -> None:
    page = parse("<p>" + "word " * 100 + "</p>", max_text_chars=22)
    assert page.text == "word word word word"


def test_text_within_the_bound_is_whole() -> None:
    assert parse("<p>exactly ten</p>", max_text_chars=11).text == "exactly ten"


# links


def test_links_are_resolved_and_canonicalized() -> None:
    html = '<a href="other.html#part">a</a><a href="/x?utm_source=y&b=2&a=1">b</a>'
    assert [link.url for link in parse(html).links] == [
        "https://example.com/dir/other.html",
        "https://example.com/x?a=1&b=2",
    ]


def test_area_links_are_links() -> None:
    html = '<map><area href="/from-area" alt="x"></map>'
    assert [link.url for link in parse(html).links] == ["https://example.com/from-area"]


def test_links_resolve_against_base_href() -> None:
    html = '<head><base href="/docs/v2/"></head><a href="intro">i</a>'
    assert parse(html).links[0].url == "https://example.com/docs/v2/intro"


def test_an_absolute_base_href_may_point_elsewhere() -> None:
    html = '<base href="https://cdn.example.net/root/"><a href="x">x</a>'
    assert parse(html).links[0].url == "https://cdn.example.net/root/x"


def test_a_non_http_base_href_is_ignored() -> None:
    html = '<base href="javascript:void(0)"><a href="x">x</a>'
    assert parse(html).links[0].url == "https://example.com/dir/x"


def test_links_that_cannot_be_crawled_are_dropped() -> None:
    html = (
        '<a href="mailto:a@b.c">m</a><a href="javascript:go()">j</a><a href="tel:1">t</a>'
        '<a href="">empty</a><a>no href</a><a href="http://bad host/">b</a>'
    )
    assert parse(html).links == []


def test_rel_nofollow_is_detected_among_other_tokens() -> None:
    html = '<a href="/a" rel="noopener NoFollow">a</a><a href="/b" rel="noopener">b</a>'
    assert [(link.url, link.nofollow) for link in parse(html).links] == [
        ("https://example.com/a", True),
        ("https://example.com/b", False),
    ]


def test_a_link_is_nofollow_only_if_every_occurrence_is() -> None:
    html = (
        '<a href="/a" rel="nofollow">1</a><a href="./../a#x">2</a>'
        '<a href="/b" rel="nofollow">3</a><a href="/b#y" rel="nofollow">4</a>'
    )
    assert [(link.url, link.nofollow) for link in parse(html).links] == [
        ("https://example.com/a", False),
        ("https://example.com/b", True),
    ]


def test_duplicate_links_keep_their_first_position() -> None:
    html = '<a href="/a"><img src="/i.png"></a><a href="/b">B</a><a href="/a#t">Alpha</a>'
    assert parse(html).links == [
        Link(url="https://example.com/a", nofollow=False),
        Link(url="https://example.com/b", nofollow=False),
    ]


def test_ten_thousand_links_are_handled() -> None:
    html = "".join(f'<a href="/p/{n}">link {n}</a>' for n in range(10_000))
    started = time.perf_counter()
    links = parse(html).links
    assert len(links) == 10_000
    assert links[-1].url == "https://example.com/p/9999"
    assert time.perf_counter() - started < 5


# images


def test_images_are_resolved_with_alt_and_title() -> None:
    html = '<img src="pic.jpg" alt=" A  cat " title="Cat">'
    assert parse(html).images == [
        ImageRef(url="https://example.com/dir/pic.jpg", alt="A cat", title="Cat", caption="")
    ]


def test_every_srcset_candidate_is_an_image() -> None:
    html = '<img src="a.jpg" srcset="a-2x.jpg 2x, /b.jpg?w=1,2 640w,c.jpg">'
    assert [image.url for image in parse(html).images] == [
        "https://example.com/dir/a.jpg",
        "https://example.com/dir/a-2x.jpg",
        "https://example.com/b.jpg?w=1,2",
        "https://example.com/dir/c.jpg",
    ]


def test_picture_sources_belong_to_their_image() -> None:
    html = (
        '<picture><source srcset="big.webp 2x, small.webp"><img src="fallback.jpg" alt="P">'
        "</picture>"
    )
    images = parse(html).images
    assert [image.url.rsplit("/", 1)[1] for image in images] == [
        "fallback.jpg",
        "big.webp",
        "small.webp",
    ]
    assert {image.alt for image in images} == {"P"}


def test_data_uri_images_are_skipped() -> None:
    html = '<img src="data:image/png;base64,AAAA" srcset="DATA:image/gif;base64,R0 1x, real.png">'
    assert [image.url for image in parse(html).images] == ["https://example.com/dir/real.png"]


def test_images_are_deduplicated_keeping_the_first_occurrence() -> None:
    html = '<img src="/a.png" alt="first"><img src="a.png#frag" srcset="/a.png 2x" alt="second">'
    images = parse(html, url="https://example.com/").images
    assert [(image.url, image.alt) for image in images] == [("https://example.com/a.png", "first")]


def test_an_image_takes_the_caption_of_its_figure() -> None:
    html = (
        '<figure><div><img src="in.png"></div><figcaption> A <b>fine</b>\n caption'
        '</figcaption></figure><img src="out.png">'
    )
    captions = {image.url.rsplit("/", 1)[1]: image.caption for image in parse(html).images}
    assert captions == {"in.png": "A fine caption", "out.png": ""}


def test_the_nearest_figure_caption_wins() -> None:
    html = (
        '<figure><img src="outer.png"><figure><img src="inner.png">'
        "<figcaption>Inner</figcaption></figure><figcaption>Outer</figcaption></figure>"
    )
    captions = {image.url.rsplit("/", 1)[1]: image.caption for image in parse(html).images}
    assert captions == {"outer.png": "Outer", "inner.png": "Inner"}


def test_image_texts_are_truncated() -> None:
    long_text = "y" * 5000
    html = f'<figure><img src="a.png" alt="{long_text}" title="{long_text}">'
    html += f"<figcaption>{long_text}</figcaption></figure>"
    image = parse(html).images[0]
    assert (len(image.alt), len(image.title), len(image.caption)) == (1000, 1000, 1000)


@pytest.mark.parametrize(
    ("srcset", "expected"),
    [
        ("a.jpg", ["a.jpg"]),
        ("a.jpg 1x, b.jpg 2x", ["a.jpg", "b.jpg"]),
        ("a.jpg 100w,b.jpg 200w", ["a.jpg", "b.jpg"]),
        ("a.jpg,b.jpg", ["a.jpg,b.jpg"]),
        ("a.jpg, b.jpg", ["a.jpg", "b.jpg"]),
        ("  ,, a.jpg  ,  ", ["a.jpg"]),
        ("a.jpg (max-width: 1px, 2px) 1x, b.jpg", ["a.jpg", "b.jpg"]),
        ("", []),
    ],
)
def test_parse_srcset(srcset: str, expected: list[str]) -> None:
    assert parse_srcset(srcset) == expected


# robustness


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\x00\x01\x02\xff" * 1000,
        b"<",
        b"<a href=",
        b"<html><body><p>unclosed <b>tags <i>everywhere",
        b"</div></div></body></html>",
        b"<a href='/x'>" * 1000,
        b"<!-- never closed comment <a href='/x'>",
        b"<script>never closed <a href='/x'>",
    ],
)
def test_broken_documents_parse(body: bytes) -> None:
    page = parse_html(body, PAGE)
    assert isinstance(page.text, str)


def test_deeply_nested_tags_parse_quickly() -> None:
    html = '<a href="/first">first</a>' + "<div>" * 200_000 + "deep"
    started = time.perf_counter()
    page = parse(html)
    assert time.perf_counter() - started < 5
    assert page.links[0].url == "https://example.com/first"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(body: bytes) -> None:
    page = parse_html(body, PAGE)
    assert isinstance(page.title, str)
    assert all(
        link.url.startswith("https://") or link.url.startswith("http://") for link in page.links
    )


_HTML_PIECES = st.sampled_from(
    [
        "<a href='",
        "'>",
        "<img src=",
        " srcset='x 1x, y 2x'",
        "<base href=/b/>",
        "<figure>",
        "<figcaption>",
        "</figure>",
        "<title>",
        "</title>",
        "<script>",
        "</script>",
        "<svg>",
        "<div>",
        "</div>",
        "<p>",
        "text",
        " ",
        "é",
        "\x00",
        "#",
        "javascript:",
        "//",
        "?a=1",
        "<meta charset=",
        "utf-16",
        "<!--",
        "-->",
        "<template>",
        "rel=nofollow ",
        "<area href=x>",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_HTML_PIECES, max_size=40).map("".join))
def test_html_like_input_never_crashes(html: str) -> None:
    page = parse(html)
    assert len({link.url for link in page.links}) == len(page.links)
    assert len({image.url for image in page.images}) == len(page.images)


def test_a_page_keeps_at_most_max_images_per_page_in_document_order() -> None:
    html = "".join(f'<img src="/{index}.png">' for index in range(MAX_IMAGES_PER_PAGE + 10))
    urls = [image.url for image in parse(html).images]
    assert urls == [f"https://example.com/{index}.png" for index in range(MAX_IMAGES_PER_PAGE)]
