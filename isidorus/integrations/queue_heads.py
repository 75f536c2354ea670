"""How long the head of each SQS queue has waited, for the metrics collector.

SQS reports the age of a queue's oldest message only through CloudWatch, and reading
messages to look at them would count as receives towards the dead-letter redrive. So the
workers note the SentTimestamp SQS gives with each message they receive (config/
sqs_transport.py asks for it), and the collector reads the newest of those per queue.
Queues are close to first-in first-out, so the messages still waiting were mostly sent
after it: while the queue is not empty, `now - noted` bounds the oldest message's age from
above, to within the gap between two messages. It keeps growing while no worker receives
anything, which is when it matters. An older message redelivered after a crash moves it
back, as it should: that message has waited that long.

The reaper reads them too: a job whose paced batches were published after the head, on a
queue the workers are still taking from, is waiting its turn, not stalled
(isidorus/maintenance.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import redis

from isidorus.integrations.redis_client import as_text, get_redis

logger = logging.getLogger(__name__)

QUEUE_HEADS = "queues:heads"


@dataclass(frozen=True)
class QueueHead:
    sent_ms: int  # SQS's SentTimestamp of the latest message a worker received
    received_ms: int  # when it was received


def queue_head_note(queue: str, sent_ms: int) -> None:
    """Best effort: a Redis that does not answer costs the metric one sample, not the task."""
    try:
        get_redis().hset(QUEUE_HEADS, queue, f"{sent_ms}:{int(time.time() * 1000)}")
    except redis.RedisError as error:
        logger.debug("queue head of %s not noted: %s", queue, error)


def queue_heads() -> dict[str, QueueHead]:
    heads: dict[str, QueueHead] = {}
    for queue, value in get_redis().hgetall(QUEUE_HEADS).items():
        sent, _, received = as_text(value).partition(":")
        heads[as_text(queue)] = QueueHead(int(sent), int(received or sent))
    return heads
