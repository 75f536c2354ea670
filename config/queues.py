"""Queue names, declared once. Task modules, Celery settings, bootstrap and docs read them here.

Every queue gets the deployment namespace as a prefix (ISIDORUS_NAMESPACE), so `make run`
and `make test` never share a queue, and a dead-letter queue named `<queue>-dlq`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

SCRAPER = "scraper"
WRITER = "writer"
IMAGE_EXTRACTOR = "image-extractor"
PAGE_SUMMARIZER = "page-summarizer"
WEBHOOKS = "webhooks"
STAGES: tuple[str, ...] = (SCRAPER, WRITER, IMAGE_EXTRACTOR, PAGE_SUMMARIZER, WEBHOOKS)
# Stages whose messages each job publishes through its pacing (isidorus/job_state/pacing.py).
PACED_STAGES: tuple[str, ...] = (SCRAPER, PAGE_SUMMARIZER, IMAGE_EXTRACTOR)


@dataclass(frozen=True)
class QueueSpec:
    stage: str
    name: str
    dlq_name: str


def queue_name(stage: str) -> str:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; declared stages: {STAGES}")
    return f"{settings.ISIDORUS_NAMESPACE}-{stage}"


def queue_spec(stage: str) -> QueueSpec:
    name = queue_name(stage)
    return QueueSpec(stage=stage, name=name, dlq_name=f"{name}-dlq")


def all_queue_specs() -> list[QueueSpec]:
    return [queue_spec(stage) for stage in STAGES]
