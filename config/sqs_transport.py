"""kombu's SQS transport, surviving an SQS endpoint that goes away and comes back.

When the endpoint refuses connections, kombu's asynchronous receive hands its callback an
empty list instead of the ReceiveMessage dict, and `_on_messages_ready` raises
AttributeError; when the queue is gone (a restarted LocalStack keeps no queues), the
receive raises a bare Exception for the HTTP 400. Raised from
a hub timer, it is logged and that queue is never polled again: the worker stays up but
consumes nothing, silently. Raised from a socket callback, it stops the worker
("Unrecoverable error"). Here a failed receive, a missing queue's 400 included, counts
as an empty one: the queue is polled again after the polling interval, and the worker
resumes by itself once the queue answers (`manage.py bootstrap_aws` recreates it at the
same URL).

Every request asks for a kept connection (see isidorus.integrations.aws.ask_keep_alive).

Each received message also carries SQS's SentTimestamp to the task, in a header, for the
queue-wait metrics.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.asynchronous.aws.sqs.connection import AsyncSQSConnection
from kombu.transport import SQS

from isidorus.integrations.aws import ask_keep_alive

logger = logging.getLogger(__name__)


QUEUE_MISSING_MARKERS = (b"QueueDoesNotExist", b"NonExistentQueue")
# The message header that carries SQS's SentTimestamp (ms) of a received message.
SENT_HEADER = "sqs_sent_ms"


class MissingQueueTolerantConnection(AsyncSQSConnection):
    def _mexe(self, request: Any, sender: Any = None, callback: Any = None) -> Any:
        # The receive's own HTTP client (pycurl): kept connections, as ask_keep_alive does
        # for the boto3 clients.
        request.headers["Connection"] = "keep-alive"
        return super()._mexe(request, sender, callback)  # type: ignore[no-untyped-call]  # kombu is untyped

    def _on_list_ready(self, parent: Any, markers: Any, operation: Any, response: Any) -> Any:
        if response.status == 400:
            body = response.read()
            if any(marker in body for marker in QUEUE_MISSING_MARKERS):
                return []
            raise self._for_status(response, body)  # type: ignore[no-untyped-call]  # kombu is untyped
        return super()._on_list_ready(parent, markers, operation, response)  # type: ignore[no-untyped-call]  # kombu is untyped


class Channel(SQS.Channel):
    _failing: set[str]

    def new_sqs_client(self, *args: Any, **kwargs: Any) -> Any:
        client = super().new_sqs_client(*args, **kwargs)  # type: ignore[no-untyped-call]  # kombu is untyped
        ask_keep_alive(client)
        return client

    def asynsqs(self, queue: str | None = None) -> Any:
        connection = super().asynsqs(queue)  # type: ignore[no-untyped-call]  # kombu is untyped
        if type(connection) is AsyncSQSConnection:
            connection.__class__ = MissingQueueTolerantConnection
        return connection

    def _on_messages_ready(self, queue: str, qname: str, messages: Any) -> int:
        failing = self.__dict__.setdefault("_failing", set())
        if not isinstance(messages, dict):
            if qname not in failing:
                failing.add(qname)
                logger.error("receiving from SQS queue %s failed; polling again", qname)
            return 0
        if qname in failing:
            failing.discard(qname)
            logger.warning("receiving from SQS queue %s works again", qname)
        return int(super()._on_messages_ready(queue, qname, messages))  # type: ignore[no-untyped-call]  # kombu is untyped

    def _message_to_python(self, message: Any, queue_name: str, q_url: str) -> Any:
        payload = super()._message_to_python(message, queue_name, q_url)  # type: ignore[no-untyped-call]  # kombu is untyped
        sent = message.get("Attributes", {}).get("SentTimestamp")
        headers = payload.get("headers") if isinstance(payload, dict) else None
        if sent is not None and isinstance(headers, dict):
            # Read by the task as `request.sqs_sent_ms` (isidorus/integrations/queue_heads.py).
            headers[SENT_HEADER] = int(sent)
        return payload


class Transport(SQS.Transport):
    Channel = Channel
