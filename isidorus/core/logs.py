"""Log lines that say which job, task, batch and owner they belong to.

`LOG_FORMAT=json` writes one JSON object per line (for a log pipeline); `text` (the
default) writes the usual line with the same fields appended as `key=value`. The fields
come from a context variable: a task binds `task`, `task_id`, `job_id`, `batch_id` and
`owner` before it runs (config/celery.py), an API request binds `owner` and `job_id`
(accounts/api_views.py). A worker process runs one task at a time, so a task's fields
stay bound until the next task replaces them: Celery's own "succeeded" line, written
after the task returns, still carries them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

CONTEXT_FIELDS = ("job_id", "task", "task_id", "batch_id", "owner")
_context: ContextVar[Mapping[str, str] | None] = ContextVar("isidorus_log_context", default=None)


def bind(**fields: object) -> None:
    """Replace the bound fields with these (None values are left out)."""
    _context.set({name: str(value) for name, value in fields.items() if value is not None})


def bind_more(**fields: object) -> None:
    """Add fields to those already bound."""
    more = {name: str(value) for name, value in fields.items() if value is not None}
    _context.set({**bound(), **more})


def bound() -> Mapping[str, str]:
    return _context.get() or {}


def task_fields(name: str, task_id: str | None, args: Any) -> dict[str, str | None]:
    """A task's log fields from its name, id and message body (`job`, `batch` keys)."""
    body = args[0] if isinstance(args, (list, tuple)) and args else None
    wire = body if isinstance(body, Mapping) else {}
    job, batch = wire.get("job"), wire.get("batch")
    return {
        "task": name,
        "task_id": task_id,
        "job_id": job if isinstance(job, str) else None,
        "batch_id": batch if isinstance(batch, str) else None,
    }


class ContextFilter(logging.Filter):
    """Puts the bound fields on every record (`record.context`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.context = dict(bound())
        return True


def _context_of(record: logging.LogRecord) -> dict[str, str]:
    context = getattr(record, "context", None)
    return dict(context) if isinstance(context, Mapping) else {}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context_of(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = _context_of(record)
        if not context:
            return line
        fields = " ".join(f"{name}={context[name]}" for name in CONTEXT_FIELDS if name in context)
        head, newline, rest = line.partition("\n")  # fields before a traceback, if any
        return f"{head} [{fields}]{newline}{rest}"


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """Django's LOGGING for `log_format` ("json" or "text")."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"isidorus": {"()": formatter}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "isidorus",
                "filters": ["context"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "botocore": {"level": "WARNING"},
            "urllib3": {"level": "WARNING"},
            # LLM client libraries log every request at INFO.
            "httpx": {"level": "WARNING"},
            "httpx2": {"level": "WARNING"},
        },
    }
