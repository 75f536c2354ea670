"""An export through the real API server (gunicorn, as `make run` starts it): a long
export outlives the worker timeout, and the API keeps answering while it streams."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from typing import Any

import pytest
import requests

from isidorus.accounts.services import api_key_create
from isidorus.scrapings.models import JobStatus, Page, Scraping
from tests.e2e.crawling import crawl_owner
from tests.support.api_server import api_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
PAGES = 1500
WORKER_TIMEOUT_SECONDS = 2
# About 12 MB of JSONL, read through a 64 KB receive buffer: far more than the sockets
# hold, so while the client does not read, the thread writing the export waits, for three
# worker timeouts.
MARKDOWN = "# Page\n\n" + "A line of the page's content, long enough to weigh. " * 150
STALL_SECONDS = 3 * WORKER_TIMEOUT_SECONDS


class _SmallBufferConnection(http.client.HTTPConnection):
    """A client whose socket buffers little (the kernel would otherwise grow it to MBs)."""

    def connect(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.settimeout(self.timeout)
        sock.connect((self.host, self.port))
        self.sock = sock


def _job_with_pages() -> Scraping:
    job = Scraping.objects.create(
        owner=crawl_owner(), url="http://127.0.0.1:9/", status=JobStatus.COMPLETED
    )
    Page.objects.bulk_create(
        Page(
            scraping=job,
            url=f"http://127.0.0.1:9/{n}",
            url_hash=f"{n:040d}",
            outcome="fetched",
            content_markdown=MARKDOWN,
            text=MARKDOWN,
        )
        for n in range(PAGES)
    )
    return job


def test_a_long_export_streams_past_the_worker_timeout_and_the_api_still_answers(
    worker_env: dict[str, str], aws_resources: Any, redis_clean: Any
) -> None:
    job = _job_with_pages()
    _, raw_key = api_key_create(owner=crawl_owner(), name="export")
    headers = {"X-API-Key": raw_key}
    settings = {"timeout": str(WORKER_TIMEOUT_SECONDS), "workers": "1", "threads": "4"}
    with api_server(worker_env, **settings) as server:
        origin = server.origin
        detail_seconds: list[float] = []

        def poll_the_api(stop: threading.Event) -> None:
            while not stop.wait(0.5):
                started = time.monotonic()
                response = requests.get(
                    f"{origin}/api/v1/scrapings/{job.pk}/", headers=headers, timeout=10
                )
                assert response.status_code == 200
                detail_seconds.append(time.monotonic() - started)

        stop = threading.Event()
        poller = threading.Thread(target=poll_the_api, args=(stop,))
        started = time.monotonic()
        connection = _SmallBufferConnection(origin.removeprefix("http://"), timeout=30)
        path = f"/api/v1/scrapings/{job.pk}/export/?format=jsonl"
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        assert response.status == 200
        poller.start()
        time.sleep(STALL_SECONDS)
        body = response.read()
        connection.close()
        elapsed = time.monotonic() - started
        stop.set()
        poller.join()

    *pages, summary = [json.loads(line) for line in body.splitlines()]
    assert (summary["pages"], summary["finished"]) == (PAGES, True)
    assert len({page["url"] for page in pages}) == PAGES
    assert elapsed > STALL_SECONDS
    # The one worker answered the job detail all along, each within a second (a worker
    # without threads answers none while its export waits on the client).
    assert len(detail_seconds) >= 5
    assert max(detail_seconds) < 1.0
