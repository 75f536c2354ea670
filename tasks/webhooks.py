from __future__ import annotations

from typing import Any

from isidorus.contracts import DELIVER_WEBHOOK, WebhookBody
from isidorus.publishing import publish
from isidorus.scrapings.webhooks.delivery import deliver
from tasks.base import IsidorusTask, bound_task, queue_of


@bound_task(name=DELIVER_WEBHOOK.name, queue=queue_of(DELIVER_WEBHOOK))
def deliver_webhook(self: IsidorusTask, body: dict[str, Any]) -> None:
    message = DELIVER_WEBHOOK.read(body)
    attempt = deliver(message.delivery_id)
    if attempt.retry_in is not None:
        publish(DELIVER_WEBHOOK, WebhookBody(message.delivery_id), delay_seconds=attempt.retry_in)
