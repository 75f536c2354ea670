"""The dead-letter queues, for operators: count, look at, send back, or empty them.

`manage.py dlq` uses these. Beat's drainer (isidorus/maintenance.py) records dead letters
of the pipeline as failed work; these are for what an operator wants to see or retry,
such as a webhook delivery or messages left while beat was down. Sending a message back
is safe to repeat: every task is redelivery-safe (DESIGN, "Redelivery is safe").
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from typing import Any

from config.queues import queue_spec
from isidorus.integrations.aws import sqs_client

_BATCH = 10


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    task: str
    argument: Any
    sent_at: float  # unix seconds
    receives: int


@dataclass(frozen=True)
class QueueDepth:
    stage: str
    dlq: str
    messages: int
    oldest_age_seconds: float | None  # of the messages sampled


def decode_celery_message(raw: str) -> tuple[str, Any] | None:
    """(task name, first positional argument) of a Celery message taken from SQS."""
    try:
        envelope = json.loads(base64.b64decode(raw))
        body = envelope["body"]
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return str(envelope["headers"]["task"]), args[0] if args else None
    except (ValueError, KeyError, TypeError, IndexError):
        return None


def _url(name: str) -> str:
    return str(sqs_client().get_queue_url(QueueName=name)["QueueUrl"])


def dlq_depth(stage: str) -> QueueDepth:
    spec = queue_spec(stage)
    url = _url(spec.dlq_name)
    attributes = sqs_client().get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    letters = dlq_peek(stage, limit=_BATCH)
    oldest = min((letter.sent_at for letter in letters), default=None)
    return QueueDepth(
        stage=stage,
        dlq=spec.dlq_name,
        messages=int(attributes.get("ApproximateNumberOfMessages", 0)),
        oldest_age_seconds=None if oldest is None else max(0.0, time.time() - oldest),
    )


def dlq_peek(stage: str, *, limit: int) -> list[DeadLetter]:
    """Up to `limit` dead letters, left in the queue (visible again at once)."""
    url = _url(queue_spec(stage).dlq_name)
    found: dict[str, DeadLetter] = {}
    sqs = sqs_client()
    while len(found) < limit:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=min(_BATCH, limit - len(found)),
            VisibilityTimeout=0, WaitTimeSeconds=0,
            AttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        ).get("Messages", [])  # fmt: skip
        fresh = [m for m in messages if m["MessageId"] not in found]
        if not fresh:
            break
        for message in fresh:
            decoded = decode_celery_message(message["Body"]) or ("(not a task message)", None)
            found[message["MessageId"]] = DeadLetter(
                message_id=message["MessageId"],
                task=decoded[0],
                argument=decoded[1],
                sent_at=int(message["Attributes"]["SentTimestamp"]) / 1000,
                receives=int(message["Attributes"].get("ApproximateReceiveCount", 0)),
            )
    return list(found.values())


def dlq_redrive(stage: str, *, limit: int = 10_000) -> int:
    """Move dead letters back to their source queue; returns how many moved."""
    spec = queue_spec(stage)
    source, dead = _url(spec.name), _url(spec.dlq_name)
    sqs = sqs_client()
    moved = 0
    while moved < limit:
        messages = sqs.receive_message(
            QueueUrl=dead, MaxNumberOfMessages=_BATCH, VisibilityTimeout=60, WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        ).get("Messages", [])  # fmt: skip
        if not messages:
            break
        for message in messages:
            # Sent before deleted: a crash in between leaves a duplicate, never a loss.
            sqs.send_message(
                QueueUrl=source,
                MessageBody=message["Body"],
                MessageAttributes=message.get("MessageAttributes", {}),
            )
            sqs.delete_message(QueueUrl=dead, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def dlq_purge(stage: str) -> None:
    sqs_client().purge_queue(QueueUrl=_url(queue_spec(stage).dlq_name))
