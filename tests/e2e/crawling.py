"""Helpers of the end-to-end crawl tests."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from isidorus.integrations.job_table import TERMINAL, job_item_get
from isidorus.scrapings.models import Page
from isidorus.scrapings.services.start import StartRequest, scraping_start
from tests.support.gate import Gate
from tests.support.waiting import wait_for
from tests.support.workers import WorkerProcess

# The worker environment of the enrichment tests (the `enrichment_on` fixture).
ENRICHMENT_ON = {"ISIDORUS_ENRICHMENT_ENABLED": "true", "ENRICHMENT_RETRY_BASE_SECONDS": "0.5"}


def crawl_owner(username: str = "crawler") -> Any:
    user_model = get_user_model()
    return user_model.objects.filter(username=username).first() or user_model.objects.create_user(
        username=username
    )


def start_crawl(url: str, **options: Any) -> str:
    job, _ = scraping_start(owner=crawl_owner(), request=StartRequest(url=url, **options))
    return str(job.pk)


def wait_terminal(job_id: str, timeout: float = 120) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        item = job_item_get(job_id)
        return item if item and item.get("status") in TERMINAL else None

    return wait_for(probe, timeout=timeout, interval=0.3, message=f"job {job_id} to finish")


def outcomes(job_id: str, origin: str) -> dict[str, tuple[str, str]]:
    """{path or full URL: (outcome, reason)} for every page row of the job."""
    rows = Page.objects.filter(scraping_id=job_id).values_list("url", "outcome", "reason")
    return {url.removeprefix(origin) or "/": (outcome, reason) for url, outcome, reason in rows}


def kill_while_held(worker: WorkerProcess, gate: Gate, timeout: float = 60) -> None:
    """SIGKILL `worker` while one of its requests waits at `gate`: surely in mid-task."""
    gate.close()
    try:
        wait_for(
            lambda: gate.held > 0,
            timeout=timeout, message=f"a request of {worker.name} to be held at the gate",
        )  # fmt: skip
        worker.kill()
    finally:
        gate.open()
