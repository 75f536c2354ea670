from __future__ import annotations

from typing import Any

from config.queues import SCRAPER, queue_name
from isidorus.scrapings.messaging import EXPAND_TASK
from isidorus.scrapings.services.expand import expand_page
from tasks.base import task
from tasks.messages import scrape_message


@task(name=EXPAND_TASK, queue=queue_name(SCRAPER))
def expand(body: dict[str, Any]) -> None:
    job_id, items = scrape_message(body)
    for entry in items:
        expand_page(job_id=job_id, entry=entry)
