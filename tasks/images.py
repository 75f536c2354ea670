from __future__ import annotations

from typing import Any

from isidorus.contracts import EXTRACT_IMAGE
from isidorus.enrichment.follow_ups import enrichment_release, publish_follow_ups
from isidorus.enrichment.images import extract_images
from isidorus.integrations.cpu_steps import cpu_step
from tasks.base import IsidorusTask, bound_task, queue_of


@bound_task(name=EXTRACT_IMAGE.name, queue=queue_of(EXTRACT_IMAGE))
def extract_image(self: IsidorusTask, body: dict[str, Any]) -> None:
    message = EXTRACT_IMAGE.read(body)
    # The task id is the same on every redelivery of this message: the claim token.
    report = extract_images(
        job_id=message.job_id,
        image_ids=list(message.row_ids),
        attempt=message.attempt,
        delivery_token=str(self.request.id),
    )
    with cpu_step("images: follow-ups, release the next batch (pacing)"):
        publish_follow_ups(EXTRACT_IMAGE, message.job_id, report.follow_ups)
        enrichment_release(EXTRACT_IMAGE, message.job_id, str(self.request.id))
