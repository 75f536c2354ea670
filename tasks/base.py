"""The base class of every Isidorus task."""

from __future__ import annotations

from celery import Task
from django.conf import settings


class IsidorusTask(Task):  # type: ignore[misc]
    # Redelivery-safe by construction (see DESIGN "Redelivery is safe"), so acks_late is on.
    acks_late = True
    # self.retry() publishes a new message and so resets SQS's receive count; the cap
    # lives here instead.
    max_retries = settings.CELERY_TASK_MAX_RETRIES
