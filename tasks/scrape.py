from __future__ import annotations

import logging
from typing import Any

from isidorus.contracts import SCRAPE
from isidorus.scrapings.services.scrape import scrape_batch, scrape_batch_split
from tasks.base import IsidorusTask, bound_task, queue_of

logger = logging.getLogger(__name__)


@bound_task(name=SCRAPE.name, queue=queue_of(SCRAPE))
def scrape(self: IsidorusTask, body: dict[str, Any]) -> None:
    message = SCRAPE.read(body)
    job_id, items = message.job_id, list(message.entries)
    # The task id is the same on every redelivery of this message: the claim token.
    token = str(self.request.id)
    try:
        scrape_batch(job_id=job_id, entries=items, delivery_token=token)
    except Exception:
        if len(items) == 1:
            raise  # rejected: SQS retries it, then dead-letters it
        logger.exception("batch of %d URLs failed; splitting it into single URLs", len(items))
        scrape_batch_split(job_id=job_id, entries=items, delivery_token=token)
