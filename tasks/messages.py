"""Validation of task message bodies. A body that does not fit raises MalformedMessage,
which the tasks let fail so SQS moves the message to its DLQ after its receives."""

from __future__ import annotations

from typing import Any

SUPPORTED_VERSIONS = frozenset({1})


class MalformedMessage(ValueError):
    pass


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise MalformedMessage(what)


def scrape_message(body: Any) -> tuple[str, list[dict[str, Any]]]:
    _require(isinstance(body, dict), "body must be an object")
    _require(body.get("v") in SUPPORTED_VERSIONS, f"unsupported schema version {body.get('v')!r}")
    job, items = body.get("job"), body.get("items")
    _require(isinstance(job, str) and len(job) == 36, "job must be a job id")
    _require(isinstance(items, list) and bool(items), "items must be a non-empty list")
    for item in items:
        _require(isinstance(item, dict) and isinstance(item.get("u"), str), "item needs a url")
        _require(isinstance(item.get("d"), int), "item needs a depth")
    return job, items


def write_message(body: Any) -> tuple[str, str, str, list[str]]:
    _require(isinstance(body, dict), "body must be an object")
    _require(body.get("v") in SUPPORTED_VERSIONS, f"unsupported schema version {body.get('v')!r}")
    job, batch, key, items = body.get("job"), body.get("batch"), body.get("key"), body.get("items")
    _require(isinstance(job, str) and len(job) == 36, "job must be a job id")
    _require(isinstance(batch, str) and bool(batch), "batch must be a batch id")
    _require(isinstance(key, str) and key.startswith("staging/"), "key must be a staging key")
    _require(isinstance(items, list) and all(isinstance(i, str) for i in items), "bad items")
    return job, batch, key, items
