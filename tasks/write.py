from __future__ import annotations

from typing import Any

from celery import shared_task

from config.queues import WRITER, queue_name
from isidorus.scrapings.messaging import WRITE_TASK
from isidorus.scrapings.services.write import write_batch
from tasks.base import DATABASE_CONNECTION_ERRORS, IsidorusTask
from tasks.messages import write_message


@shared_task(bind=True, base=IsidorusTask, name=WRITE_TASK, queue=queue_name(WRITER))
def write(self: IsidorusTask, body: dict[str, Any]) -> None:
    job_id, batch_id, key, items = write_message(body)
    try:
        write_batch(job_id=job_id, batch_id=batch_id, key=key, items=items)
    except DATABASE_CONNECTION_ERRORS as error:
        # The batch's transaction rolled back and its items are still open: write it again.
        self.retry_on_a_new_connection(error)
