"""Fetch one URL: guarded connections, manual redirects, streaming limits, classified errors.

urllib3 directly, not requests (docs/design-notes.md, "Fetching"). No cookies are kept or
sent: one fetch thread serves every tenant's jobs.

Socket timeouts apply per read, so a server that drips a byte a second is never
cut by them; the total deadline is a ConnectionDeadline, which shuts the connection down
wherever the fetch is blocked (handshake, headers or body). Anything that comes back after
it expired is a timeout, since a cut close-delimited body looks complete. Bodies are cut at
a maximum size (after decompression, so small compressed bombs are cut too).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

import urllib3
from urllib3.exceptions import (
    DecodeError,
    HTTPError,
    LocationValueError,
    NameResolutionError,
    SSLError,
    TimeoutError,
    URLSchemeUnknown,
)

from isidorus.crawling.urls import canonicalize
from isidorus.integrations import metrics
from isidorus.integrations.guarded_http import (
    ConnectionDeadline,
    blocked_in,
    guarded_pool_manager,
)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
CHUNK_BYTES = 64 * 1024
MAX_ROBOTS_HEADER_CHARS = 1000
# What requests asked for: gzip and deflate (and br when a brotli decoder is installed).
ACCEPT_ENCODING = ", ".join(
    urllib3.util.make_headers(accept_encoding=True)["accept-encoding"].split(",")
)

_local = threading.local()


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_seconds: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "IsidorusBot/0.1"


@dataclass
class FetchResult:
    url: str
    final_url: str
    outcome: str  # fetched | failed | skipped
    reason: str = ""
    status_code: int | None = None
    content_type: str = ""
    charset: str | None = None
    body: bytes = b""
    retryable: bool = False
    retry_after: float | None = None
    redirects: list[str] = field(default_factory=list)
    # X-Robots-Tag (every such header, comma-joined): isidorus/crawling/indexing.py.
    robots_header: str = ""


# A redirect hop check returns a skip reason, or None to follow the hop.
HopCheck = Callable[[str], str | None]


def _pool_manager() -> urllib3.PoolManager:
    manager = getattr(_local, "pool_manager", None)
    if manager is None:
        manager = _local.pool_manager = guarded_pool_manager()
    return manager


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _media_type(header: str) -> tuple[str, str | None]:
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'")
    return media.strip().lower(), charset


def _classify_exception(error: Exception) -> tuple[str, bool]:
    """(reason, retryable) of a urllib3 error (raised as is: retries are off)."""
    if blocked_in(error) is not None:
        return "blocked_address", False
    if isinstance(error, TimeoutError):
        return "timeout", True
    if isinstance(error, NameResolutionError):
        return "dns", True
    if isinstance(error, SSLError):
        return "tls", False
    if isinstance(error, DecodeError):
        return "bad_encoding", False
    if isinstance(error, LocationValueError | URLSchemeUnknown):
        return "invalid_url", False
    return "connection", True


def _read_body(
    response: urllib3.BaseHTTPResponse, limits: FetchLimits, deadline: float
) -> tuple[bytes, str | None]:
    """Read the body within the size and time limits; returns (body, failure reason)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        return b"", "too_large"
    chunks: list[bytes] = []
    size = 0
    # stream() decodes at most CHUNK_BYTES per step (urllib3 >= 2.6.3), so a compressed
    # bomb is cut at max_bytes instead of being inflated whole.
    for chunk in response.stream(CHUNK_BYTES, decode_content=True):
        size += len(chunk)
        if size > limits.max_bytes:
            return b"", "too_large"
        if time.monotonic() > deadline:
            return b"", "timeout"
        chunks.append(chunk)
    return b"".join(chunks), None


@contextlib.contextmanager
def _released(response: urllib3.BaseHTTPResponse) -> Iterator[None]:
    """Give the connection back to the pool if its body was read to the end, else drop it
    (an unread redirect or error body, or one cut at the size limit)."""
    try:
        yield
    finally:
        # isclosed() is HTTPResponse's (what the pool returns); anything else is dropped.
        if not (isinstance(response, urllib3.HTTPResponse) and response.isclosed()):
            response.close()
        response.release_conn()


def fetch(
    url: str,
    *,
    limits: FetchLimits,
    hop_check: HopCheck | None = None,
    accept: frozenset[str] = HTML_TYPES,
) -> FetchResult:
    """Fetch `url` (canonical). Never raises for network or HTTP trouble: it classifies it."""
    started = time.monotonic()
    with ConnectionDeadline(limits.total_seconds) as cut:
        result = _fetch(url, limits, hop_check, accept)
    if cut.expired:
        result = FetchResult(
            url, result.final_url, "failed", "timeout", retryable=True, redirects=result.redirects
        )
    metrics.observe_fetch(result.outcome, started, len(result.body))
    return result


def _fetch(
    url: str, limits: FetchLimits, hop_check: HopCheck | None, accept: frozenset[str]
) -> FetchResult:
    deadline = time.monotonic() + limits.total_seconds
    current = url
    visited = {url}
    redirects: list[str] = []
    headers = {
        "User-Agent": limits.user_agent,
        "Accept": "text/html,application/xhtml+xml,*/*;q=0.5",
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return FetchResult(
                url, current, "failed", "timeout", retryable=True, redirects=redirects
            )
        try:
            response = _pool_manager().request(
                "GET",
                current,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                timeout=urllib3.Timeout(
                    connect=min(limits.connect_timeout, remaining),
                    read=min(limits.read_timeout, remaining),
                ),
            )
        except HTTPError as error:
            reason, retryable = _classify_exception(error)
            return FetchResult(
                url, current, "failed", reason, retryable=retryable, redirects=redirects
            )
        with _released(response):
            status = response.status
            if status in REDIRECT_STATUSES and response.headers.get("Location"):
                target = canonicalize(response.headers["Location"], current)
                if target is None:
                    return FetchResult(
                        url,
                        current,
                        "failed",
                        "invalid_redirect",
                        status_code=status,
                        redirects=redirects,
                    )
                if target in visited:
                    return FetchResult(
                        url,
                        current,
                        "failed",
                        "redirect_loop",
                        status_code=status,
                        redirects=redirects,
                    )
                if len(redirects) >= limits.max_redirects:
                    return FetchResult(
                        url,
                        current,
                        "failed",
                        "too_many_redirects",
                        status_code=status,
                        redirects=redirects,
                    )
                skip = hop_check(target) if hop_check else None
                if skip is not None:
                    return FetchResult(
                        url,
                        target,
                        "skipped",
                        skip,
                        status_code=status,
                        redirects=[*redirects, target],
                    )
                visited.add(target)
                redirects.append(target)
                current = target
                continue
            media_type, charset = _media_type(response.headers.get("Content-Type", ""))
            result = FetchResult(
                url, current, "fetched", status_code=status, content_type=media_type,
                charset=charset, redirects=redirects,
                robots_header=response.headers.get("X-Robots-Tag", "")[:MAX_ROBOTS_HEADER_CHARS],
            )  # fmt: skip
            if status >= 400:
                result.outcome = "failed"
                result.reason = "http_5xx" if status >= 500 else "http_4xx"
                result.retryable = status in RETRYABLE_STATUSES
                result.retry_after = parse_retry_after(response.headers.get("Retry-After"))
                return result
            if media_type not in accept:
                result.outcome = "skipped"
                result.reason = "unsupported_type"
                return result
            try:
                body, failure = _read_body(response, limits, deadline)
            except HTTPError as error:
                result.outcome = "failed"
                result.reason, result.retryable = _classify_exception(error)
                return result
            if failure is not None:
                result.outcome = "skipped" if failure == "too_large" else "failed"
                result.reason = failure
                result.retryable = failure == "timeout"
                return result
            result.body = body
            return result
