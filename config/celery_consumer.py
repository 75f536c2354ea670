"""A Celery consumer that lets undecodable messages reach the dead-letter queue."""

from __future__ import annotations

import logging
from typing import Any

from celery.worker.consumer import Consumer

logger = logging.getLogger(__name__)


class DeadLetteringConsumer(Consumer):  # type: ignore[misc]  # celery is untyped: Consumer is Any
    def on_decode_error(self, message: Any, exc: Exception) -> None:
        # Celery acknowledges (deletes) a message it cannot decode, so it would vanish
        # without a trace. Rejecting leaves it to SQS, which moves it to the DLQ after
        # the queue's maxReceiveCount, where the drainer records it.
        logger.error("undecodable message rejected towards the DLQ: %s", exc)
        message.reject(requeue=False)

    def on_unknown_message(self, body: Any, message: Any) -> None:
        # Not a Celery message at all (for example, raw text sent to the queue by hand).
        logger.error("message that is not a Celery task rejected towards the DLQ")
        message.reject(requeue=False)
