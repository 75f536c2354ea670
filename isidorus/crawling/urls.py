"""Canonical URLs: one spelling per page, so that a page is crawled and stored once.

`canonicalize` resolves a link against its page and rewrites it into a single form
(lowercase scheme and host, punycode, no default port, no userinfo, no fragment, no
tracking parameters, sorted query, normalised path and percent-encoding). It answers None
for anything that is not a fetchable http(s) URL, and never raises.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import unquote, urljoin, urlsplit

import idna

from isidorus.crawling.percent import normalize_percent_encoding

MAX_URL_LENGTH = 2048
# Input this much longer than the limit cannot shrink back under it in practice; refusing
# it early bounds the work spent on hostile attribute values.
_MAX_INPUT_FACTOR = 4

DEFAULT_PORTS = {"http": 80, "https": 443}
TRACKING_PARAMS = frozenset({"gclid", "fbclid", "msclkid", "mc_cid", "mc_eid", "_ga"})
TRACKING_PARAM_PREFIXES = ("utm_",)

_PATH_SAFE = "!$&'()*+,;=:@/"
_QUERY_SAFE = "!$'()*+,;=:@/?"
_C0_CONTROL_OR_SPACE = "".join(chr(code) for code in range(0x21))
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_ASCII_HOST = re.compile(r"[a-z0-9_.-]+")
_PORT = re.compile(r"[0-9]{1,5}")
_IPV4_PART = {
    10: re.compile(r"[0-9]+"),
    8: re.compile(r"[0-7]*"),
    16: re.compile(r"[0-9a-f]*"),
}
# Longer numeric parts cannot be a valid IPv4 part; bounding them keeps int() cheap.
_MAX_IPV4_PART_DIGITS = 40


def canonicalize(
    url: str, base: str | None = None, *, max_length: int = MAX_URL_LENGTH
) -> str | None:
    """Resolve `url` against `base` and return its canonical form, or None.

    None means: empty, not http(s), an invalid host or port, or a result longer than
    `max_length`. A bare `href=""` is None too, not the page itself.
    """
    try:
        return _canonicalize(url, base, max_length)
    except ValueError:  # urllib, ipaddress and idna report malformed input as ValueError
        return None


def url_fingerprint(canonical_url: str) -> str:
    """The sha1 hex digest of a canonical URL: a stable id (`page:<fingerprint>`)."""
    return hashlib.sha1(canonical_url.encode("utf-8")).hexdigest()


class UrlParts(NamedTuple):
    scheme: str
    netloc: str
    path: str
    query: str


# A plain http(s) URL as `canonicalize` writes them: printable ASCII without spaces, no
# userinfo and no brackets in the netloc. Anything else goes through urlsplit.
_PLAIN_HTTP_URL = re.compile(
    r"(https?)://([^/?#@\[\]\x00-\x20\x7f-\U0010ffff]+)"
    r"((?:/[^?#\x00-\x20\x7f-\U0010ffff]*)?)(?:\?([^#\x00-\x20\x7f-\U0010ffff]*))?"
    r"(?:#[^\x00-\x20\x7f-\U0010ffff]*)?"
)


def split_url(url: str) -> UrlParts:
    """urlsplit's scheme, netloc, path and query, with one regular expression for plain
    http(s) URLs: admission checks every discovered link's scope and robots rules, and
    urlsplit was most of that cost. Raises ValueError where urlsplit does."""
    plain = _PLAIN_HTTP_URL.fullmatch(url)
    if plain is not None:
        scheme, netloc, path, query = plain.groups()
        return UrlParts(scheme, netloc, path, query or "")
    parts = urlsplit(url)
    return UrlParts(parts.scheme, parts.netloc, parts.path, parts.query)


def normalize_host(host: str) -> str:
    """Lowercase `host`, drop one trailing dot and spell IP addresses one way.

    IPv4 written in decimal (`2130706433`), octal (`0177.0.0.1`), hex (`0x7f.1`) or short
    form (`127.1`) becomes a dotted quad; a bracketed IPv6 address becomes its compressed
    lowercase form. Anything else that cannot be parsed comes back lowercased.
    """
    if host.startswith("[") and host.endswith("]"):
        ipv6 = _parse_ipv6(host)
        return ipv6 if ipv6 is not None else host.lower()
    lowered = _strip_one_trailing_dot(host.lower())
    if _ends_in_number(lowered):
        ipv4 = _parse_ipv4(lowered)
        if ipv4 is not None:
            return ipv4
    return lowered


def _canonicalize(url: str, base: str | None, max_length: int) -> str | None:
    cleaned = _clean(url)
    if not cleaned or len(cleaned) > max_length * _MAX_INPUT_FACTOR:
        return None
    if base is not None:
        cleaned = _join(base, cleaned)
    if len(cleaned) <= _CACHED_URL_LENGTH:
        return _canonical_absolute(cleaned, max_length)
    return _canonical_absolute.__wrapped__(cleaned, max_length)


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
# A URL `_canonical_absolute` would return unchanged: lowercase http(s); a lowercase host
# whose last label starts with a letter (so no IP address in another spelling) or a plain
# dotted quad; no userinfo; a port without leading zeros; a path of characters that need no
# percent-encoding; no query, no fragment. (Dot segments and default ports are checked
# after the match.) Most links of a crawl are already in this form; on a large site most
# of them are seen only a few times and miss the memo, so its misses must be cheap too.
_CANONICAL_ALREADY = re.compile(
    rf"https?://(?:(?:[a-z0-9_-]+\.)*[a-z_-][a-z0-9_-]*|(?:{_OCTET}\.){{3}}{_OCTET})"
    r"(:[1-9][0-9]{0,4})?/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*"
)


def _is_canonical_already(url: str, max_length: int) -> bool:
    if len(url) > max_length or "/." in url:
        return False
    match = _CANONICAL_ALREADY.fullmatch(url)
    if match is None:
        return False
    port = match.group(1)
    if port is None:
        return True
    number = int(port[1:])
    return number <= 65535 and number != DEFAULT_PORTS[url[: url.index(":")]]


# A site's pages link to the same URLs again and again (menus, footers, related lists),
# so canonical forms are memoised per process, for URLs of ordinary length only.
_CACHED_URL_LENGTH = 512


@lru_cache(maxsize=1 << 15)
def _canonical_absolute(cleaned: str, max_length: int) -> str | None:
    if _is_canonical_already(cleaned, max_length):
        return cleaned
    parts = split_url(cleaned)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return None
    host_and_port = _split_host_port(parts.netloc.rpartition("@")[2])
    if host_and_port is None:
        return None
    raw_host, raw_port = host_and_port
    host = _canonical_host(raw_host)
    if host is None:
        return None
    port = _canonical_port(raw_port, scheme)
    if port is None:
        return None
    path = _remove_dot_segments(normalize_percent_encoding(parts.path, safe=_PATH_SAFE)) or "/"
    query = _canonical_query(parts.query)
    canonical = f"{scheme}://{host}{port}{path}" + (f"?{query}" if query else "")
    return canonical if len(canonical) <= max_length else None


def _clean(raw: str) -> str:
    """Undo what browsers forgive in hrefs: edge whitespace, tabs and newlines, backslashes."""
    text = raw.strip(_C0_CONTROL_OR_SPACE)
    if "\t" in text or "\n" in text or "\r" in text:
        text = _TAB_OR_NEWLINE.sub("", text)
    if "\\" not in text:
        return text
    end = len(text)
    for delimiter in "?#":
        found = text.find(delimiter, 0, end)
        if found >= 0:
            end = found
    return text[:end].replace("\\", "/") + text[end:]


def _join(base: str, cleaned: str) -> str:
    """urljoin(base, cleaned), skipping its cost for the common absolute and rooted links."""
    if cleaned.startswith(("http://", "https://")):
        return cleaned
    cleaned_base, origin = _prepared_base(base)
    if not cleaned_base:
        return cleaned
    if origin and cleaned.startswith("/") and not cleaned.startswith("//"):
        return origin + cleaned
    return urljoin(cleaned_base, cleaned)


@lru_cache(maxsize=64)
def _prepared_base(base: str) -> tuple[str, str]:
    """The cleaned base and its `scheme://netloc` (empty when it has none); one page's
    links share a base, so this is computed once per page."""
    cleaned = _clean(base)
    parts = urlsplit(cleaned)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    return cleaned, origin


def _split_host_port(host_port: str) -> tuple[str, str] | None:
    if host_port.startswith("["):
        end = host_port.find("]")
        if end < 0:
            return None
        host, rest = host_port[: end + 1], host_port[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        return host, rest[1:]
    host, _, port = host_port.partition(":")
    if ":" in port:
        return None
    return host, port


def _canonical_port(raw_port: str, scheme: str) -> str | None:
    """`""` for the scheme's default port, `":<n>"` otherwise, None when invalid."""
    if not raw_port:
        return ""
    if not _PORT.fullmatch(raw_port.lstrip("0") or "0"):
        return None
    port = int(raw_port)
    if not 0 < port <= 65535:
        return None
    return "" if port == DEFAULT_PORTS[scheme] else f":{port}"


@lru_cache(maxsize=4096)
def _canonical_host(raw_host: str) -> str | None:
    # Cached: a page's links mostly share a few hosts, and IP hosts are costly to parse.
    if raw_host.startswith("["):
        return _parse_ipv6(raw_host)
    host = unquote(raw_host)
    if not host.isascii():
        host = idna.encode(host, uts46=True).decode("ascii")
    host = _strip_one_trailing_dot(host.lower())
    if not _ASCII_HOST.fullmatch(host) or "" in host.split("."):
        return None
    if _ends_in_number(host):
        # As in browsers: a host ending in a number is an IPv4 address or nothing.
        return _parse_ipv4(host)
    return host


def _strip_one_trailing_dot(host: str) -> str:
    return host[:-1] if host.endswith(".") else host


def _parse_ipv6(bracketed: str) -> str | None:
    inner = bracketed[1:-1]
    if not bracketed.endswith("]") or "%" in inner:
        return None
    try:
        return f"[{ipaddress.IPv6Address(inner).compressed}]"
    except ValueError:
        return None


def _ends_in_number(host: str) -> bool:
    last = host.rpartition(".")[2]
    if last.isascii() and last.isdigit():
        return True
    return last[:2] == "0x" and _IPV4_PART[16].fullmatch(last[2:]) is not None


def _parse_ipv4(host: str) -> str | None:
    """The dotted quad of a (lowercase) host in any IPv4 spelling browsers accept, or None."""
    parts = host.split(".")
    if len(parts) > 4:
        return None
    numbers: list[int] = []
    for part in parts:
        number = _parse_ipv4_number(part)
        if number is None:
            return None
        numbers.append(number)
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    address = last + sum(number * 256 ** (3 - index) for index, number in enumerate(leading))
    return str(ipaddress.IPv4Address(address))


def _parse_ipv4_number(part: str) -> int | None:
    if not part or len(part) > _MAX_IPV4_PART_DIGITS:
        return None
    if part.startswith("0x"):
        radix, digits = 16, part[2:]
    elif len(part) > 1 and part.startswith("0"):
        radix, digits = 8, part[1:]
    else:
        radix, digits = 10, part
    if not _IPV4_PART[radix].fullmatch(digits):
        return None
    return int(digits, radix) if digits else 0


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, for a path that is empty or starts with '/'."""
    if "/." not in path:  # a "." or ".." segment follows a slash; "page.html" has none
        return path
    segments = path.split("/")[1:]
    kept: list[str] = []
    last_index = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
            continue
        if index == last_index:
            kept.append("")
    return "/" + "/".join(kept)


def _canonical_query(query: str) -> str:
    pairs: list[tuple[str, str, str]] = []
    for piece in query.split("&"):
        if not piece:
            continue
        normalized = normalize_percent_encoding(piece, safe=_QUERY_SAFE)
        name, _, value = normalized.partition("=")
        if _is_tracking_param(name):
            continue
        pairs.append((name, value, normalized))
    pairs.sort()
    return "&".join(normalized for _, _, normalized in pairs)


def _is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PARAM_PREFIXES)
