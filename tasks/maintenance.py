"""Periodic tasks, scheduled by `celery -A config beat` (see config/celery.py)."""

from __future__ import annotations

import logging

from isidorus.contracts import DRAIN_DEAD_LETTERS, REAP
from isidorus.maintenance import drain_dead_letters, reap_stalled_jobs
from tasks.base import queue_of, task

logger = logging.getLogger(__name__)


@task(name=REAP.name, queue=queue_of(REAP))
def reap() -> None:
    actions = reap_stalled_jobs()
    if actions:
        logger.info("reaper: %s", actions)


@task(name=DRAIN_DEAD_LETTERS.name, queue=queue_of(DRAIN_DEAD_LETTERS))
def drain() -> None:
    handled = drain_dead_letters()
    if handled:
        logger.info("dead-letter drainer handled %d message(s)", handled)
