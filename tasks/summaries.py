from __future__ import annotations

from typing import Any

from config.queues import PAGE_SUMMARIZER, queue_name
from isidorus.enrichment.messages import enrichment_message, publish_follow_ups
from isidorus.enrichment.summaries import summarize_pages
from isidorus.scrapings.messaging import SUMMARIZE_TASK
from tasks.base import IsidorusTask, bound_task


@bound_task(name=SUMMARIZE_TASK, queue=queue_name(PAGE_SUMMARIZER))
def summarize(self: IsidorusTask, body: dict[str, Any]) -> None:
    job_id, page_ids, attempt = enrichment_message(body, "summary")
    # The task id is the same on every redelivery of this message: the claim token.
    report = summarize_pages(
        job_id=job_id, page_ids=page_ids, attempt=attempt, delivery_token=str(self.request.id)
    )
    publish_follow_ups("summary", job_id, report.follow_ups)
