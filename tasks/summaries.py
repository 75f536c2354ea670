from __future__ import annotations

from typing import Any

from isidorus.contracts import SUMMARIZE
from isidorus.enrichment.follow_ups import enrichment_release, publish_follow_ups
from isidorus.enrichment.summaries import summarize_pages
from tasks.base import IsidorusTask, bound_task, queue_of


@bound_task(name=SUMMARIZE.name, queue=queue_of(SUMMARIZE))
def summarize(self: IsidorusTask, body: dict[str, Any]) -> None:
    message = SUMMARIZE.read(body)
    # The task id is the same on every redelivery of this message: the claim token.
    report = summarize_pages(
        job_id=message.job_id,
        page_ids=list(message.row_ids),
        attempt=message.attempt,
        delivery_token=str(self.request.id),
    )
    publish_follow_ups(SUMMARIZE, message.job_id, report.follow_ups)
    enrichment_release(SUMMARIZE, message.job_id, str(self.request.id))
