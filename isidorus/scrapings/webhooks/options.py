"""The names of webhook events and what a job's `webhook` option asks for."""

from __future__ import annotations

from typing import Any

STARTED = "job.started"
COMPLETED = "job.completed"
FAILED = "job.failed"
CANCELLED = "job.cancelled"
PROGRESS = "job.progress"
EVENTS = (STARTED, COMPLETED, FAILED, CANCELLED, PROGRESS)
DEFAULT_EVENTS = (STARTED, COMPLETED, FAILED, CANCELLED)
TERMINAL_EVENTS = frozenset({COMPLETED, FAILED, CANCELLED})
DEFAULT_PROGRESS_SECONDS = 30


def progress_every(webhook: dict[str, Any] | None) -> int | None:
    """Seconds between progress events the option asks for, or None if it wants none."""
    if not webhook or PROGRESS not in webhook.get("events", ()):
        return None
    return int(webhook.get("progress_seconds") or DEFAULT_PROGRESS_SECONDS)
