from __future__ import annotations

from typing import Any

from celery import shared_task

from config.queues import WRITER, queue_name
from isidorus.scrapings.messaging import WRITE_TASK
from isidorus.scrapings.services.write import write_batch
from tasks.base import IsidorusTask
from tasks.messages import write_message


@shared_task(bind=True, base=IsidorusTask, name=WRITE_TASK, queue=queue_name(WRITER))
def write(self: IsidorusTask, body: dict[str, Any]) -> None:
    job_id, batch_id, key, items = write_message(body)
    write_batch(job_id=job_id, batch_id=batch_id, key=key, items=items)
