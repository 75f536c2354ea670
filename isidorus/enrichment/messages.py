"""Enrichment message bodies: {"v": 1, "job": id, "pages"|"images": [ids], "a": attempt}.

The writer's hand-off publishes them without "a" (attempt 0); retries and deferrals
re-publish the items they name with SQS DelaySeconds. A body that does not fit raises
MalformedMessage, which the task lets fail, so SQS dead-letters it after its receives.
"""

from __future__ import annotations

from typing import Any

from config.queues import IMAGE_EXTRACTOR, PAGE_SUMMARIZER
from isidorus.enrichment.common import FollowUp
from isidorus.scrapings.messaging import EXTRACT_IMAGE_TASK, SUMMARIZE_TASK, publish

SUPPORTED_VERSIONS = frozenset({1})
MAX_IDS = 1000
# kind -> (task, stage, body key)
ROUTES = {
    "summary": (SUMMARIZE_TASK, PAGE_SUMMARIZER, "pages"),
    "image": (EXTRACT_IMAGE_TASK, IMAGE_EXTRACTOR, "images"),
}


class MalformedMessage(ValueError):
    pass


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise MalformedMessage(what)


def enrichment_message(body: Any, kind: str) -> tuple[str, list[int], int]:
    """(job id, row ids, attempt) of a summary or image message."""
    key = ROUTES[kind][2]
    _require(isinstance(body, dict), "body must be an object")
    _require(body.get("v") in SUPPORTED_VERSIONS, f"unsupported schema version {body.get('v')!r}")
    job, ids, attempt = body.get("job"), body.get(key), body.get("a", 0)
    _require(isinstance(job, str) and len(job) == 36, "job must be a job id")
    _require(isinstance(ids, list) and 0 < len(ids) <= MAX_IDS, f"{key} must be a non-empty list")
    _require(all(type(i) is int and i > 0 for i in ids), f"{key} must be row ids")
    _require(type(attempt) is int and attempt >= 0, "a must be an attempt number")
    return job, list(dict.fromkeys(ids)), attempt


def publish_follow_ups(kind: str, job_id: str, follow_ups: list[FollowUp]) -> None:
    task, stage, key = ROUTES[kind]
    for follow_up in follow_ups:
        publish(
            task,
            stage,
            {"job": job_id, key: follow_up.ids, "a": follow_up.attempt},
            delay_seconds=follow_up.delay_seconds,
        )
