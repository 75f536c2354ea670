"""The base class of every Isidorus task."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.conf import settings

from isidorus.scrapings.job_state import JobStateLost

logger = logging.getLogger(__name__)


class IsidorusTask(Task):  # type: ignore[misc]
    # Redelivery-safe by construction (see DESIGN "Redelivery is safe"), so acks_late is on.
    acks_late = True
    # self.retry() publishes a new message and so resets SQS's receive count; the cap
    # lives here instead.
    max_retries = settings.CELERY_TASK_MAX_RETRIES

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except JobStateLost as lost:
            from isidorus.scrapings.services.finish import job_fail_lost_state

            logger.error("%s; failing the job", lost)
            job_fail_lost_state(lost.job_id)
            return None
