from __future__ import annotations

import logging
from typing import Any

from isidorus.contracts import WRITE
from isidorus.scrapings.services.staging_lost import staged_batch_lost
from isidorus.scrapings.services.write import write_batch
from isidorus.scrapings.staging import StagedBatchUnreadable
from tasks.base import DATABASE_CONNECTION_ERRORS, IsidorusTask, bound_task, queue_of

logger = logging.getLogger(__name__)
# Reads of an unreadable staged batch before its URLs are scraped again, 1 s apart then
# doubling (1 + 2 = 3 s): long enough for a store that blinked, short for a lost object.
STAGING_READ_RETRIES = 2


@bound_task(name=WRITE.name, queue=queue_of(WRITE))
def write(self: IsidorusTask, body: dict[str, Any]) -> None:
    message = WRITE.read(body)
    job_id, batch_id, key = message.job_id, message.batch_id, message.staging_key
    items = list(message.items)
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
