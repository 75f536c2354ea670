"""The Prometheus metrics every process records, and the text `/metrics` serves.

With PROMETHEUS_MULTIPROC_DIR set (before this module is imported), each process writes
its values to files in that directory and `/metrics` adds up every process's files: the
gunicorn workers and the Celery prefork children of one host share it. Without it (one
process, or a test that reads its own registry) values stay in the process.

Page and enrichment counters are counted where the job item's counters are applied
exactly once (job_counters.job_item_add_counters_once), so a redelivered batch is not
counted twice and the totals agree with the database.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import REGISTRY
from prometheus_client.registry import Collector

PAGES = Counter("isidorus_pages", "Pages recorded, by outcome", ["outcome"])
PAGE_REASONS = Counter(
    "isidorus_page_reasons", "Failed and skipped pages, by reason", ["outcome", "reason"]
)
ENRICHMENT = Counter(
    "isidorus_enrichment", "Enrichment results and token totals, by job counter", ["counter"]
)
FETCH_SECONDS = Histogram(
    "isidorus_fetch_seconds",
    "Time to fetch a URL (redirects included), by outcome",
    ["outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
FETCH_BYTES = Counter("isidorus_fetch_bytes", "Body bytes fetched")
TASK_SECONDS = Histogram(
    "isidorus_task_seconds",
    "Task run time, by task",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
QUEUE_WAIT_SECONDS = Histogram(
    "isidorus_queue_wait_seconds",
    "Time from a message's send to a worker starting its task, by queue",
    ["queue"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
TASK_RETRIES = Counter("isidorus_task_retries", "Task retries, by task", ["task"])
DEAD_LETTERS = Counter(
    "isidorus_dead_letters_drained", "Dead-lettered messages recorded as failed work", ["stage"]
)
LLM_TOKENS = Counter(
    "isidorus_llm_tokens", "LLM tokens, by provider, model and direction",
    ["provider", "model", "direction"],
)  # fmt: skip

_PAGE_OUTCOMES = ("fetched", "failed", "skipped")


def count_job_counters(counters: Mapping[str, int]) -> None:
    """Count a job item update that was just applied (once) under Prometheus' names."""
    for name, amount in counters.items():
        if amount <= 0:
            continue
        outcome, _, rest = name.partition("_")
        if outcome == "pages" and rest in _PAGE_OUTCOMES:
            PAGES.labels(rest).inc(amount)
        elif outcome in ("failed", "skipped") and rest:
            PAGE_REASONS.labels(outcome, rest).inc(amount)
        elif name not in ("links", "images"):
            ENRICHMENT.labels(name).inc(amount)


def observe_fetch(outcome: str, started: float, body_bytes: int) -> None:
    FETCH_SECONDS.labels(outcome).observe(time.monotonic() - started)
    if body_bytes:
        FETCH_BYTES.inc(body_bytes)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(collectors: Iterable[Collector] = ()) -> tuple[bytes, str]:
    """The metrics text of every process of this host (or of this one process), with
    `collectors` (read at scrape time) added."""
    directory = multiprocess_dir()
    if directory is None:
        registry: CollectorRegistry = REGISTRY
        added = list(collectors)
        for collector in added:
            registry.register(collector)
        try:
            return generate_latest(registry), CONTENT_TYPE_LATEST
        finally:
            for collector in added:
                registry.unregister(collector)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
