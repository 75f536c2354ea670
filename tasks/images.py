from __future__ import annotations

from typing import Any

from config.queues import IMAGE_EXTRACTOR, queue_name
from isidorus.enrichment.images import extract_images
from isidorus.enrichment.messages import enrichment_message, publish_follow_ups
from isidorus.scrapings.messaging import EXTRACT_IMAGE_TASK
from tasks.base import IsidorusTask, bound_task


@bound_task(name=EXTRACT_IMAGE_TASK, queue=queue_name(IMAGE_EXTRACTOR))
def extract_image(self: IsidorusTask, body: dict[str, Any]) -> None:
    job_id, image_ids, attempt = enrichment_message(body, "image")
    # The task id is the same on every redelivery of this message: the claim token.
    report = extract_images(
        job_id=job_id, image_ids=image_ids, attempt=attempt, delivery_token=str(self.request.id)
    )
    publish_follow_ups("image", job_id, report.follow_ups)
