from __future__ import annotations

import logging
from typing import Any

from config.queues import WRITER, queue_name
from isidorus.scrapings.messaging import WRITE_TASK
from isidorus.scrapings.services.staging_lost import staged_batch_lost
from isidorus.scrapings.services.write import write_batch
from isidorus.scrapings.staging import StagedBatchUnreadable
from tasks.base import DATABASE_CONNECTION_ERRORS, IsidorusTask, bound_task
from tasks.messages import write_message

logger = logging.getLogger(__name__)
# Reads of an unreadable staged batch before its URLs are scraped again, 1 s apart then
# doubling (1 + 2 = 3 s): long enough for a store that blinked, short for a lost object.
STAGING_READ_RETRIES = 2


@bound_task(name=WRITE_TASK, queue=queue_name(WRITER))
def write(self: IsidorusTask, body: dict[str, Any]) -> None:
    job_id, batch_id, key, items = write_message(body)
    try:
        write_batch(job_id=job_id, batch_id=batch_id, key=key, items=items)
    except DATABASE_CONNECTION_ERRORS as error:
        # The batch's transaction rolled back and its items are still open: write it again.
        self.retry_on_a_new_connection(error)
    except StagedBatchUnreadable as error:
        if self.request.retries < STAGING_READ_RETRIES:
            logger.warning("%s; reading it again", error)
            raise self.retry(
                exc=error, countdown=0, delay_seconds=2**self.request.retries
            ) from error
        staged_batch_lost(job_id=job_id, batch_id=batch_id, items=items)
