"""One attempt of a webhook delivery, and what to do next.

- The request: POST of the event as JSON, signed (signing.py), through the guarded
  connection pool (the address policy checks every connection, so a URL that now resolves
  to a private address is refused before connecting), with connect and read timeouts,
  no redirects followed (a 3xx is a failed attempt), no retries of its own.
- A 2xx answer delivers the event. Anything else spends an attempt; the next waits
  WEBHOOK_RETRY_BASE_SECONDS doubled each time (at most 15 minutes, SQS's longest delay),
  and after WEBHOOK_MAX_ATTEMPTS the event is given up.
- A terminal event (`job.completed`, ...) waits, without spending an attempt, until every
  earlier event of its job is delivered or given up on.
- At least once: the message is acknowledged after the attempt is recorded, so a worker
  killed mid-request leaves the message to SQS, and the event is sent again with the same
  `id` (receivers deduplicate on it).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from urllib3 import PoolManager
from urllib3.exceptions import HTTPError
from urllib3.util import Timeout

from isidorus.accounts.webhook_secrets import signing_secrets
from isidorus.contracts import DELIVER_WEBHOOK, MAX_DELAY_SECONDS, WebhookBody
from isidorus.integrations.guarded_http import blocked_in, guarded_pool_manager
from isidorus.publishing import publish
from isidorus.scrapings.models import DeliveryStatus, WebhookDelivery
from isidorus.scrapings.webhooks.options import TERMINAL_EVENTS
from isidorus.scrapings.webhooks.signing import SIGNATURE_HEADER, signature_header

logger = logging.getLogger(__name__)

WAIT_FOR_EARLIER_SECONDS = 2
OVERDUE_SECONDS = 120
_local = threading.local()


@dataclass(frozen=True)
class Attempt:
    status: str  # the delivery's status after it
    retry_in: int | None = None  # seconds until the next attempt, if any


def _pool() -> PoolManager:
    manager = getattr(_local, "pool", None)
    if manager is None:
        manager = _local.pool = guarded_pool_manager(pool_size=8)
    return manager


def deliver(delivery_id: int) -> Attempt:
    delivery = WebhookDelivery.objects.select_related("scraping").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return Attempt(status=delivery.status if delivery else "deleted")
    job = delivery.scraping
    if delivery.event in TERMINAL_EVENTS and _earlier_pending(delivery):
        return _reschedule(delivery, WAIT_FOR_EARLIER_SECONDS, spend=False)
    webhook = job.webhook or {}
    body = json.dumps({"id": str(delivery.event_id), **delivery.payload}).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": settings.CRAWL_USER_AGENT,
        "Isidorus-Event": delivery.event,
        "Isidorus-Event-Id": str(delivery.event_id),
        SIGNATURE_HEADER: signature_header(body, signing_secrets(job.owner_id), int(time.time())),
    }
    status_code, error = _post(str(webhook.get("url", "")), body, headers)
    if status_code is not None and 200 <= status_code < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.DELIVERED, attempts=delivery.attempts + 1,
            last_status_code=status_code, last_error="", delivered_at=timezone.now(),
        )  # fmt: skip
        return Attempt(status=DeliveryStatus.DELIVERED)
    delivery.last_status_code = status_code
    delivery.last_error = (error or f"HTTP {status_code}")[:200]
    if delivery.attempts + 1 >= settings.WEBHOOK_MAX_ATTEMPTS:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.GIVEN_UP, attempts=delivery.attempts + 1,
            last_status_code=status_code, last_error=delivery.last_error,
        )  # fmt: skip
        logger.warning("webhook %s of job %s given up: %s", delivery.event, job.pk, error)
        return Attempt(status=DeliveryStatus.GIVEN_UP)
    wait = settings.WEBHOOK_RETRY_BASE_SECONDS * 2**delivery.attempts
    return _reschedule(delivery, int(min(MAX_DELAY_SECONDS, max(1, wait))), spend=True)


def _earlier_pending(delivery: WebhookDelivery) -> bool:
    earlier = WebhookDelivery.objects.filter(
        scraping_id=delivery.scraping_id, id__lt=delivery.pk, status=DeliveryStatus.PENDING
    )
    return earlier.exists()


def _reschedule(delivery: WebhookDelivery, seconds: int, *, spend: bool) -> Attempt:
    attempts = delivery.attempts + (1 if spend else 0)
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempts=attempts, last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            next_attempt_at=timezone.now() + timedelta(seconds=seconds),
        )  # fmt: skip
    return Attempt(status=DeliveryStatus.PENDING, retry_in=seconds)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    timeout = Timeout(connect=settings.WEBHOOK_CONNECT_TIMEOUT, read=settings.WEBHOOK_READ_TIMEOUT)
    try:
        response = _pool().request(
            "POST", url, body=body, headers=headers, timeout=timeout, redirect=False,
            preload_content=True,
        )  # fmt: skip
    except HTTPError as error:
        blocked = blocked_in(error)
        if blocked is not None:
            return None, f"blocked_address: {blocked}"
        return None, f"{type(error).__name__}: {error}"
    except ValueError as error:  # a URL urllib3 cannot use
        return None, f"invalid URL: {error}"
    return response.status, ""


def republish_overdue() -> int:
    """Publish again the pending deliveries overdue by minutes (their message was lost:
    the process that recorded them died before publishing). Run by beat."""
    overdue = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING,
        next_attempt_at__lt=timezone.now() - timedelta(seconds=OVERDUE_SECONDS),
    ).values_list("pk", flat=True)[:500]
    count = 0
    for delivery_id in overdue:
        WebhookDelivery.objects.filter(pk=delivery_id).update(next_attempt_at=timezone.now())
        publish(DELIVER_WEBHOOK, WebhookBody(delivery_id))
        count += 1
    return count
