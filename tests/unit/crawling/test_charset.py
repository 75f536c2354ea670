from __future__ import annotations

import codecs

import pytest

from isidorus.crawling.charset import META_SCAN_BYTES, decode_html

CYRILLIC = "Привет"


def test_utf8_is_the_default() -> None:
    assert decode_html("<p>é</p>".encode()) == ("<p>é</p>", "utf-8")


def test_the_header_charset_is_used() -> None:
    body = f"<p>{CYRILLIC}</p>".encode("cp1251")
    assert decode_html(body, "windows-1251") == (f"<p>{CYRILLIC}</p>", "cp1251")


def test_the_header_charset_beats_the_meta_charset() -> None:
    body = f'<meta charset="iso-8859-5"><p>{CYRILLIC}</p>'.encode("cp1251")
    assert decode_html(body, "windows-1251")[1] == "cp1251"


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="windows-1251">',
        "<meta charset=windows-1251>",
        "<META CHARSET='Windows-1251'>",
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">',
    ],
)
def test_the_meta_charset_is_used_without_a_header(meta: str) -> None:
    text, charset = decode_html(f"{meta}<p>{CYRILLIC}</p>".encode("cp1251"))
    assert charset == "cp1251"
    assert CYRILLIC in text


def test_a_meta_charset_after_the_first_4_kib_is_ignored() -> None:
    body = b" " * META_SCAN_BYTES + b'<meta charset="windows-1251">'
    assert decode_html(body)[1] == "utf-8"


def test_an_unknown_header_charset_falls_back_to_the_meta_charset() -> None:
    body = b'<meta charset="koi8-r">'
    assert decode_html(body, "no-such-charset")[1] == "koi8-r"


@pytest.mark.parametrize(
    "label", ["no-such-charset", "base64", "rot13", "utf-7", "unicode_escape", "x" * 100, ""]
)
def test_unknown_and_non_text_charsets_fall_back_to_utf8(label: str) -> None:
    assert decode_html("é".encode(), label) == ("é", "utf-8")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("ISO-8859-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ('"latin1"', "cp1252"),
        ("gb2312", "gbk"),
        ("Shift_JIS", "cp932"),
        ("euc-kr", "cp949"),
        ("utf8", "utf-8"),
    ],
)
def test_labels_mean_the_superset_browsers_use(label: str, expected: str) -> None:
    assert decode_html(b"", label)[1] == expected


def test_latin1_pages_decode_windows_1252_punctuation() -> None:
    assert decode_html(b"\x93quoted\x94 \x80", "iso-8859-1")[0] == "\u201cquoted\u201d \u20ac"


def test_a_meta_charset_of_utf16_means_utf8() -> None:
    assert decode_html(b'<meta charset="utf-16"><p>\xc3\xa9</p>')[1] == "utf-8"


@pytest.mark.parametrize(
    ("bom", "encoding", "expected"),
    [
        (codecs.BOM_UTF8, "utf-8", "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
    ],
)
def test_a_byte_order_mark_beats_the_header(bom: bytes, encoding: str, expected: str) -> None:
    assert decode_html(bom + "<p>é</p>".encode(encoding), "windows-1252") == ("<p>é</p>", expected)


def test_invalid_bytes_become_replacement_characters() -> None:
    assert decode_html(b"caf\xe9 \xc3(") == ("caf\ufffd \ufffd(", "utf-8")
