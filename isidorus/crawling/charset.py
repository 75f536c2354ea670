"""Which character encoding an HTML body is in, decided the way browsers do, minus guessing.

Precedence: a byte-order mark, then the Content-Type header's charset, then a
`<meta charset>` (or http-equiv Content-Type) within the first 4 KiB, then UTF-8. A label
Python does not know, or one that is no text encoding, is skipped as if absent. Labels
map to the superset encodings the WHATWG Encoding Standard uses (ISO-8859-1 means
windows-1252, GB2312 means GBK, and so on).
"""

from __future__ import annotations

import codecs
import re

DEFAULT_CHARSET = "utf-8"
META_SCAN_BYTES = 4096

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]+)""", re.I)
_LABEL = re.compile(r"[a-z0-9_:.+-]{1,40}")
_WHATWG_SUPERSETS = {
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "l1": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "iso-8859-8-i": "iso8859-8",
    "gb2312": "gbk",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "big5": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "x-mac-cyrillic": "mac-cyrillic",
}
# Text codecs that no web page is in; honouring them would only let a page garble itself.
_REFUSED_CODECS = frozenset(
    {"utf-7", "idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"}
)


def decode_html(body: bytes, header_charset: str | None = None) -> tuple[str, str]:
    """Decode `body`, replacing invalid sequences; returns (text, Python codec name)."""
    for bom, charset in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(charset, errors="replace"), charset
    charset = _codec_name(header_charset) or _meta_charset(body) or DEFAULT_CHARSET
    return body.decode(charset, errors="replace"), charset


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:META_SCAN_BYTES])
    if match is None:
        return None
    charset = _codec_name(match.group(1).decode("ascii"))
    # A declaration readable as ASCII cannot be in UTF-16 or UTF-32 (HTML Standard).
    if charset is not None and charset.startswith(("utf-16", "utf-32")):
        return DEFAULT_CHARSET
    return charset


def _codec_name(label: str | None) -> str | None:
    if label is None:
        return None
    normalized = label.strip().strip("\"'").strip().lower()
    if not _LABEL.fullmatch(normalized):
        return None
    try:
        codec = codecs.lookup(_WHATWG_SUPERSETS.get(normalized, normalized))
    except LookupError:
        return None
    if not codec._is_text_encoding or codec.name in _REFUSED_CODECS:
        return None
    return codec.name
