"""Faster redelivery, for tests that wait for a message to use up its receives and reach
its dead-letter queue. The test settings' 12 s visibility timeout times 3 receives made
each of them wait about 40 s; with 5 s they wait about 18 s."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.conf import settings

from config.queues import queue_name
from isidorus.integrations.aws import sqs_client

FAST_VISIBILITY_SECONDS = 5  # the settings minimum
# For the workers of such a test: the hard time limit stays below the visibility timeout.
FAST_REDELIVERY_ENV = {
    "SQS_VISIBILITY_TIMEOUT": str(FAST_VISIBILITY_SECONDS),
    "CELERY_TASK_TIME_LIMIT": str(FAST_VISIBILITY_SECONDS - 1),
}


def _set_visibility(stages: tuple[str, ...], seconds: int) -> None:
    sqs = sqs_client()
    for stage in stages:
        url = sqs.get_queue_url(QueueName=queue_name(stage))["QueueUrl"]
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": str(seconds)})


@contextlib.contextmanager
def fast_redelivery(*stages: str) -> Iterator[None]:
    """The stages' queues hand an unacknowledged message back after FAST_VISIBILITY_SECONDS
    (the queue attribute: kombu's receive does not set one), restored afterwards."""
    _set_visibility(stages, FAST_VISIBILITY_SECONDS)
    try:
        yield
    finally:
        _set_visibility(stages, settings.SQS_VISIBILITY_TIMEOUT)
