"""Which discovered URLs belong to a crawl: scope rules and include/exclude patterns.

Scopes, for canonical URLs (see `urls.canonicalize`):

- `host`: the same host and port (the netloc); http and https of one host both count.
- `domain`: the same registrable domain, so any subdomain, on any port or scheme.
  Registrable domains honour the private part of the Public Suffix List too, so
  `alice.github.io` and `bob.github.io` are different sites.
- `prefix`: the same scheme, host and port, and a path under the start URL's directory:
  `/docs/intro.html` and `/docs/` both give `/docs/`; a last segment without a dot is
  taken as a directory, so `/docs` admits `/docs` itself and `/docs/...`, never `/docsearch`.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Literal, NamedTuple

import tldextract

from isidorus.crawling.urls import split_url

Scope = Literal["host", "domain", "prefix"]
SCOPES: tuple[Scope, ...] = ("host", "domain", "prefix")
MAX_PATTERN_LENGTH = 500


def as_scope(value: str) -> Scope:
    """A stored scope name as the Scope type; ValueError for an unknown one."""
    for scope in SCOPES:
        if value == scope:
            return scope
    raise ValueError(f"unknown scope {value!r}; scopes: {SCOPES}")


# No suffix_list_urls and no cache_dir: the list bundled with tldextract, never a download.
_SUFFIX_EXTRACTOR = tldextract.TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)


@lru_cache(maxsize=4096)
def registrable_domain(host: str) -> str:
    """The registrable domain of `host` (`a.b.example.co.uk` -> `example.co.uk`).

    IP addresses, `localhost`, single-label hosts and bare public suffixes have no
    registrable domain and come back unchanged, so they only match themselves.
    """
    normalized = host.lower().removesuffix(".")
    if normalized == "localhost" or _is_ip_address(normalized):
        return normalized
    return _SUFFIX_EXTRACTOR(normalized).top_domain_under_public_suffix or normalized


@lru_cache(maxsize=1 << 16)
def in_scope(url: str, start_url: str, scope: Scope) -> bool:
    """Whether canonical `url` belongs to a crawl that started at canonical `start_url`.

    Cached: a site's pages link to the same URLs over and over (menus, footers), and each
    discovered link is checked both for its row and for admission."""
    candidate = _Location.parse(url)
    start = _start_location(start_url)
    if candidate is None or start is None:
        return False
    if scope == "host":
        return candidate.netloc == start.netloc
    if scope == "domain":
        return registrable_domain(candidate.host) == registrable_domain(start.host)
    if scope == "prefix":
        return (
            candidate.scheme == start.scheme
            and candidate.netloc == start.netloc
            and path_in_prefix(candidate.path, start.path)
        )
    raise ValueError(f"unknown scope {scope!r}, expected one of {SCOPES}")


def path_in_prefix(path: str, start_path: str) -> bool:
    """Whether `path` lies under the directory of `start_path` (the `prefix` scope rule)."""
    if start_path.endswith("/"):
        return path.startswith(start_path)
    last_segment = start_path.rpartition("/")[2]
    if "." in last_segment:
        return path.startswith(start_path[: -len(last_segment)])
    return path == start_path or path.startswith(start_path + "/")


class UrlFilter:
    """Include/exclude regular expressions, matched with `re.search` against a URL.

    A URL passes when it matches at least one include pattern (or there are none) and no
    exclude pattern. Invalid patterns raise ValueError: check them with
    `validate_patterns` first.
    """

    def __init__(self, include: list[str], exclude: list[str]) -> None:
        errors = validate_patterns(include) + validate_patterns(exclude)
        if errors:
            raise ValueError("; ".join(errors))
        self._include = [re.compile(pattern) for pattern in include]
        self._exclude = [re.compile(pattern) for pattern in exclude]

    def allows(self, url: str) -> bool:
        if self._include and not any(pattern.search(url) for pattern in self._include):
            return False
        return not any(pattern.search(url) for pattern in self._exclude)


def validate_patterns(patterns: list[str]) -> list[str]:
    """One readable message per pattern that is too long or not a valid regular expression."""
    errors: list[str] = []
    for index, pattern in enumerate(patterns):
        if len(pattern) > MAX_PATTERN_LENGTH:
            errors.append(
                f"pattern {index} is longer than {MAX_PATTERN_LENGTH} characters ({len(pattern)})"
            )
            continue
        try:
            re.compile(pattern)
        except (re.error, RecursionError, OverflowError) as error:
            errors.append(f"pattern {index} {pattern!r} is not a valid regular expression: {error}")
    return errors


class _Location(NamedTuple):  # a tuple: built for every link checked, so cheap to make
    scheme: str
    netloc: str
    host: str
    path: str

    @classmethod
    def parse(cls, url: str) -> _Location | None:
        try:
            parts = split_url(url)
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None
        netloc = parts.netloc.rpartition("@")[2]
        host = (
            netloc[: netloc.find("]") + 1] if netloc.startswith("[") else netloc.partition(":")[0]
        )
        return cls(parts.scheme, netloc, host, parts.path or "/")


_start_location = lru_cache(maxsize=256)(_Location.parse)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return True
