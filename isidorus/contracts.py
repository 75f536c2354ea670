"""Every Celery task's contract: its name, its queue and the type of its message body.

Producers build a body object and publish it (isidorus/publishing.py); tasks read their
argument with `Contract.read`, the one validator. A body that does not fit raises
MalformedMessage, which the task lets fail, so SQS dead-letters the message after its
receives.

On the wire a body is JSON with a schema version ("v") and short keys ("u" for a URL,
"d" for a depth): a scrape batch repeats them for every URL, an SQS message holds at
most 256 KiB, and messages already queued must still read after an upgrade. The short
keys live only in the `to_wire` / `from_wire` pairs below; code reads the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from config.queues import IMAGE_EXTRACTOR, PAGE_SUMMARIZER, SCRAPER, WEBHOOKS, WRITER

SCHEMA_VERSION = 1
SUPPORTED_VERSIONS = frozenset({SCHEMA_VERSION})
# SQS refuses DelaySeconds above 15 minutes.
MAX_DELAY_SECONDS = 900
# Row ids in one enrichment message.
MAX_ROW_IDS = 1000
_JOB_ID_LENGTH = 36


class MalformedMessage(ValueError):
    pass


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise MalformedMessage(what)


def _job_id(wire: Mapping[str, Any]) -> str:
    job = wire.get("job")
    _require(isinstance(job, str) and len(job) == _JOB_ID_LENGTH, "job must be a job id")
    return str(job)


@dataclass(frozen=True)
class PageEntry:
    """A URL to scrape, as admitted, published, and held in its open item's payload."""

    url: str
    depth: int
    parent_url: str = ""
    # Fetches already spent on retryable failures (a timeout, a 503).
    attempt: int = 0

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"u": self.url, "d": self.depth, "p": self.parent_url}
        if self.attempt:
            wire["a"] = self.attempt
        return wire

    @classmethod
    def from_wire(cls, wire: Any) -> PageEntry:
        _require(isinstance(wire, dict) and isinstance(wire.get("u"), str), "item needs a url")
        _require(type(wire.get("d")) is int, "item needs a depth")
        parent, attempt = wire.get("p", ""), wire.get("a", 0)
        _require(isinstance(parent, str), "p must be the parent's url")
        _require(type(attempt) is int and attempt >= 0, "a must be an attempt number")
        return cls(url=wire["u"], depth=wire["d"], parent_url=parent, attempt=attempt)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> PageEntry:
        """From an open item's payload in Redis (written by admission; never malformed,
        but read leniently: a redelivery must not fail on a payload of an older release)."""
        return cls(
            url=str(payload.get("u", "")),
            depth=int(payload.get("d", 0)),
            parent_url=str(payload.get("p", "")),
        )


@dataclass(frozen=True)
class ScrapeBody:
    """URLs to scrape (isidorus.scrape), or pages whose links to follow again at a
    shorter depth (isidorus.expand)."""

    job_id: str
    entries: tuple[PageEntry, ...]

    def to_wire(self) -> dict[str, Any]:
        return {"job": self.job_id, "items": [entry.to_wire() for entry in self.entries]}

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Self:
        items = wire.get("items")
        if not isinstance(items, list) or not items:
            raise MalformedMessage("items must be a non-empty list")
        return cls(_job_id(wire), tuple(PageEntry.from_wire(item) for item in items))


@dataclass(frozen=True)
class WriteBody:
    """A staged batch for the writer, and the open work items its commit closes."""

    job_id: str
    batch_id: str
    staging_key: str
    items: tuple[str, ...]

    def to_wire(self) -> dict[str, Any]:
        return {
            "job": self.job_id,
            "batch": self.batch_id,
            "key": self.staging_key,
            "items": list(self.items),
        }

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Self:
        batch, key, items = wire.get("batch"), wire.get("key"), wire.get("items")
        _require(isinstance(batch, str) and bool(batch), "batch must be a batch id")
        _require(isinstance(key, str) and key.startswith("staging/"), "key must be a staging key")
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise MalformedMessage("items must be work item names")
        return cls(_job_id(wire), str(batch), str(key), tuple(items))


@dataclass(frozen=True)
class RowsBody:
    """Rows to enrich. The writer's hand-off sends attempt 0 (no "a" on the wire);
    retries and deferrals send the rows they name again, delayed by SQS."""

    ROWS_KEY: ClassVar[str]
    job_id: str
    row_ids: tuple[int, ...]
    attempt: int = 0

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"job": self.job_id, self.ROWS_KEY: list(self.row_ids)}
        if self.attempt:
            wire["a"] = self.attempt
        return wire

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Self:
        key = cls.ROWS_KEY
        ids, attempt = wire.get(key), wire.get("a", 0)
        if not isinstance(ids, list) or not 0 < len(ids) <= MAX_ROW_IDS:
            raise MalformedMessage(f"{key} must be a non-empty list")
        _require(all(type(i) is int and i > 0 for i in ids), f"{key} must be row ids")
        _require(type(attempt) is int and attempt >= 0, "a must be an attempt number")
        return cls(_job_id(wire), tuple(dict.fromkeys(ids)), attempt)


@dataclass(frozen=True)
class SummaryBody(RowsBody):
    """Pages to summarise (page row ids)."""

    ROWS_KEY: ClassVar[str] = "pages"


@dataclass(frozen=True)
class ImageBody(RowsBody):
    """Images to store and describe (image row ids)."""

    ROWS_KEY: ClassVar[str] = "images"


@dataclass(frozen=True)
class WebhookBody:
    """A webhook delivery to attempt (its row id)."""

    delivery_id: int

    def to_wire(self) -> dict[str, Any]:
        return {"delivery": self.delivery_id}

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Self:
        delivery = wire.get("delivery")
        if type(delivery) is not int or delivery <= 0:
            raise MalformedMessage("delivery must be a row id")
        return cls(delivery)


class WireBody(Protocol):
    """What every message body type provides."""

    def to_wire(self) -> dict[str, Any]: ...

    @classmethod
    def from_wire(cls, wire: Mapping[str, Any]) -> Self: ...


B = TypeVar("B", bound=WireBody)


@dataclass(frozen=True)
class Contract(Generic[B]):
    """A task that takes one message body."""

    name: str
    stage: str
    body: type[B]

    def read(self, raw: Any) -> B:
        """The body of a received message, validated."""
        if not isinstance(raw, dict):
            raise MalformedMessage("body must be an object")
        version = raw.get("v")
        _require(version in SUPPORTED_VERSIONS, f"unsupported schema version {version!r}")
        return self.body.from_wire(raw)

    def wire(self, body: B) -> dict[str, Any]:
        return {"v": SCHEMA_VERSION, **body.to_wire()}


@dataclass(frozen=True)
class PlainTask:
    """A task with plain arguments: periodic maintenance (no arguments) and the smoke
    tasks, which callers send to any declared queue (`stage` is where they go by default)."""

    name: str
    stage: str


SCRAPE = Contract("isidorus.scrape", SCRAPER, ScrapeBody)
EXPAND = Contract("isidorus.expand", SCRAPER, ScrapeBody)
WRITE = Contract("isidorus.write", WRITER, WriteBody)
SUMMARIZE = Contract("isidorus.summarize", PAGE_SUMMARIZER, SummaryBody)
EXTRACT_IMAGE = Contract("isidorus.extract_image", IMAGE_EXTRACTOR, ImageBody)
DELIVER_WEBHOOK = Contract("isidorus.deliver_webhook", WEBHOOKS, WebhookBody)

REAP = PlainTask("isidorus.reap", WRITER)
DRAIN_DEAD_LETTERS = PlainTask("isidorus.drain_dead_letters", WRITER)
SMOKE_PING = PlainTask("isidorus.smoke.ping", SCRAPER)
SMOKE_RELAY = PlainTask("isidorus.smoke.relay", SCRAPER)
SMOKE_SLEEP = PlainTask("isidorus.smoke.sleep", SCRAPER)
SMOKE_FAIL = PlainTask("isidorus.smoke.fail", SCRAPER)

CONTRACTS: tuple[Contract[Any], ...] = (
    SCRAPE,
    EXPAND,
    WRITE,
    SUMMARIZE,
    EXTRACT_IMAGE,
    DELIVER_WEBHOOK,
)
PLAIN_TASKS: tuple[PlainTask, ...] = (
    REAP,
    DRAIN_DEAD_LETTERS,
    SMOKE_PING,
    SMOKE_RELAY,
    SMOKE_SLEEP,
    SMOKE_FAIL,
)
ALL_TASKS: tuple[Contract[Any] | PlainTask, ...] = CONTRACTS + PLAIN_TASKS


def contract_named(name: str) -> Contract[Any] | None:
    return next((contract for contract in CONTRACTS if contract.name == name), None)
