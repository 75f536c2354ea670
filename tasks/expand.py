from __future__ import annotations

from typing import Any

from isidorus.contracts import EXPAND
from isidorus.scrapings.services.expand import expand_pages
from tasks.base import IsidorusTask, bound_task, queue_of


@bound_task(name=EXPAND.name, queue=queue_of(EXPAND))
def expand(self: IsidorusTask, body: dict[str, Any]) -> None:
    message = EXPAND.read(body)
    # The task id is the same on every redelivery of this message: its pacing token.
    expand_pages(job_id=message.job_id, entries=list(message.entries), token=str(self.request.id))
