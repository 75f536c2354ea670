from __future__ import annotations

from typing import Any

from isidorus.contracts import EXPAND
from isidorus.scrapings.services.expand import expand_page
from tasks.base import queue_of, task


@task(name=EXPAND.name, queue=queue_of(EXPAND))
def expand(body: dict[str, Any]) -> None:
    message = EXPAND.read(body)
    for entry in message.entries:
        expand_page(job_id=message.job_id, entry=entry)
