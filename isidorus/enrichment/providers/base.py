"""What every LLM provider module offers, and how its failures are classified."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from isidorus.integrations.guarded_http import blocked_in
from isidorus.integrations.guarded_httpx import GuardedTransport
from isidorus.integrations.http_fetch import parse_retry_after
from isidorus.integrations.network_policy import llm_allowed_networks

RETRYABLE_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int
    output_tokens: int


class ProviderError(Exception):
    """A failed provider call with a stable reason (the one recorded on the row)."""

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class LanguageModel(Protocol):
    provider: str
    model: str

    def complete(self, *, system: str, prompt: str, max_tokens: int, timeout: float) -> Completion:
        """A text-only completion."""
        ...

    def describe(
        self, *, system: str, prompt: str, image: bytes, mime: str, max_tokens: int, timeout: float
    ) -> Completion:
        """A completion about one image (sent as an image part with its MIME type)."""
        ...


def policy_transport() -> GuardedTransport:
    """The transport of every provider client: connections only where the policy allows."""
    return GuardedTransport(llm_allowed_networks)


def connection_error(error: BaseException) -> ProviderError:
    """Classify a failed connection: refused by the network policy, or a retryable one."""
    if blocked_in(error) is not None:
        return ProviderError("blocked_address", retryable=False)
    return ProviderError("connection", retryable=True)


def status_error(status: int, headers: object) -> ProviderError:
    """Classify an HTTP error status of a provider's API."""
    retry_after = None
    get = getattr(headers, "get", None)
    if get is not None:
        retry_after = parse_retry_after(get("retry-after"))
    if status == 429:
        return ProviderError("rate_limited", retryable=True, retry_after=retry_after)
    if status in RETRYABLE_STATUSES:
        reason = "http_5xx" if status >= 500 else f"http_{status}"
        return ProviderError(reason, retryable=True, retry_after=retry_after)
    return ProviderError("http_5xx" if status >= 500 else "http_4xx", retryable=False)


def require_text(text: str | None) -> str:
    cleaned = (text or "").replace("\x00", "").strip()
    if not cleaned:
        raise ProviderError("empty_response", retryable=False)
    return cleaned
