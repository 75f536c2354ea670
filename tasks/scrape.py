from __future__ import annotations

from typing import Any

from celery import shared_task

from config.queues import SCRAPER, queue_name
from isidorus.scrapings.messaging import SCRAPE_TASK
from isidorus.scrapings.services.scrape import scrape_batch
from tasks.base import IsidorusTask
from tasks.messages import scrape_message


@shared_task(bind=True, base=IsidorusTask, name=SCRAPE_TASK, queue=queue_name(SCRAPER))
def scrape(self: IsidorusTask, body: dict[str, Any]) -> None:
    job_id, items = scrape_message(body)
    # The task id is the same on every redelivery of this message, so it is the claim token.
    scrape_batch(job_id=job_id, entries=items, delivery_token=str(self.request.id))
