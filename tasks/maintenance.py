"""Periodic tasks, scheduled by `celery -A config beat` (see config/celery.py)."""

from __future__ import annotations

import logging

from config.queues import WRITER, queue_name
from isidorus.scrapings.services.maintenance import drain_dead_letters, reap_stalled_jobs
from tasks.base import task

logger = logging.getLogger(__name__)


@task(name="isidorus.reap", queue=queue_name(WRITER))
def reap() -> None:
    actions = reap_stalled_jobs()
    if actions:
        logger.info("reaper: %s", actions)


@task(name="isidorus.drain_dead_letters", queue=queue_name(WRITER))
def drain() -> None:
    handled = drain_dead_letters()
    if handled:
        logger.info("dead-letter drainer handled %d message(s)", handled)
