"""Webhooks end to end (issue 12), with real local receivers: one that checks signatures
(with the README's own `verify`), one that fails three times then answers, one that
hangs, one that redirects to a blocked address; and a webhook worker SIGKILLed while a
request is in flight loses no event."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from isidorus.scrapings.models import Page, WebhookDelivery
from tests.e2e.crawling import wait_terminal
from tests.support.generated_site import generated_routes
from tests.support.site import FixtureSite
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
JOBS = "/api/v1/scrapings/"
README = Path(__file__).resolve().parents[2] / "README.md"
PROGRESS_SECONDS = 1
FAST_RETRIES = {
    "WEBHOOK_RETRY_BASE_SECONDS": "0.2",
    "WEBHOOK_MAX_ATTEMPTS": "4",
    "WEBHOOK_READ_TIMEOUT": "1",
}


def readme_verify() -> Callable[..., bool]:
    """The `verify` function of the README's webhook section, run as written."""
    text = README.read_text()
    block = re.search(r"<!-- webhook-verify.*?-->\n```python\n(.*?)```", text, re.S)
    assert block is not None
    namespace: dict[str, Any] = {}
    exec(block.group(1), namespace)  # the documentation's code, exactly
    verify: Callable[..., bool] = namespace["verify"]
    return verify


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    pages_written: int


@dataclass
class Receiver:
    job_pages: Callable[[str], int]
    received: list[Received] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)
    hold: threading.Event = field(default_factory=threading.Event)
    held: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.calls[path] = self.calls.get(path, 0) + 1
            count = self.calls[path]
        if path == "/hang":
            time.sleep(5)
            return 200, {}
        if path == "/redirect":
            return 302, {"Location": "http://169.254.169.254/latest/meta-data/"}
        if path == "/flaky" and count <= 3:
            return 500, {}
        if path == "/hold" and count == 1:
            self.held.set()
            self.hold.wait(60)  # until the worker holding this request is killed
            return 500, {}
        job_id = json.loads(body)["job"]["id"]
        with self.lock:
            self.received.append(Received(path, headers, body, self.job_pages(job_id)))
        return 200, {}


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    def pages_written(job_id: str) -> int:
        from django.db import connections

        try:
            return Page.objects.filter(scraping_id=job_id, outcome="fetched").count()
        finally:
            connections.close_all()

    state = Receiver(job_pages=pages_written)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, extra = state.answer(self.path, dict(self.headers.items()), body)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    state.hold.set()
    server.shutdown()


def _start(api: APIClient, site: FixtureSite, hook: str, **webhook: Any) -> str:
    body = {"url": site.url("/"), "depth": 2, "webhook": {"url": hook, **webhook}}
    started = api.post(JOBS, body, format="json")
    assert started.status_code == 202, started.json()
    return str(started.json()["id"])


def _deliveries(job_id: str) -> dict[str, tuple[str, int]]:
    rows = WebhookDelivery.objects.filter(scraping_id=job_id)
    found = rows.values_list("event", "status", "attempts")
    return {event: (status, attempts) for event, status, attempts in found}


def test_events_are_signed_retried_never_redirected_and_never_slow_the_crawl(
    api: APIClient, start_worker: Any, receiver: tuple[Receiver, str]
) -> None:
    state, origin = receiver
    verify = readme_verify()
    secret = api.post("/api/v1/webhook-secret/").json()["secret"]
    start_worker(name="webhooks", concurrency=3, env=FAST_RETRIES)  # every queue
    slow_pages = generated_routes(24, links_per_page=3, delay=1.5)  # a level every 1.5 s
    with (
        FixtureSite(generated_routes(30, links_per_page=4)) as site,
        FixtureSite(slow_pages) as slow,
    ):
        events = ["job.started", "job.completed", "job.progress"]
        ok = _start(api, slow, f"{origin}/ok", events=events, progress_seconds=PROGRESS_SECONDS)
        flaky = _start(api, site, f"{origin}/flaky")
        hanging = _start(api, site, f"{origin}/hang")
        redirected = _start(api, site, f"{origin}/redirect")
        for job_id in (ok, flaky, hanging, redirected):
            assert wait_terminal(job_id, timeout=60)["status"] == "COMPLETED"
        wait_for(
            lambda: WebhookDelivery.objects.filter(scraping_id=hanging, attempts__gte=1).exists(),
            timeout=30, message="the hanging receiver's first attempt",
        )  # fmt: skip

        def settled() -> bool:
            rows = WebhookDelivery.objects.filter(scraping_id__in=[ok, flaky, redirected])
            return not rows.filter(status="pending").exists()

        wait_for(settled, timeout=60, message="the deliveries to settle")

    fetched = Page.objects.filter(scraping_id=ok, outcome="fetched").count()
    to_ok = [r for r in state.received if r.path == "/ok"]
    types = [json.loads(r.body)["type"] for r in to_ok]
    assert types.count("job.started") == 1
    assert types.count("job.completed") == 1
    assert types[-1] == "job.completed"  # every progress event arrived before it
    _assert_progress_spaced(ok, types)
    for request in to_ok:
        assert verify(secret, request.body, request.headers["Isidorus-Signature"])
        assert not verify("another secret", request.body, request.headers["Isidorus-Signature"])
        assert request.headers["Isidorus-Event-Id"] == json.loads(request.body)["id"]
    completed = next(r for r in to_ok if json.loads(r.body)["type"] == "job.completed")
    assert completed.pages_written == fetched  # every page readable when it arrived
    assert json.loads(completed.body)["job"]["pages"]["fetched"] == fetched

    assert _deliveries(flaky) == {
        "job.started": ("delivered", 4),
        "job.completed": ("delivered", 1),
    }
    redirect_rows = WebhookDelivery.objects.filter(scraping_id=redirected)
    assert {row.status for row in redirect_rows} == {"given_up"}
    assert {row.last_status_code for row in redirect_rows} == {302}
    assert state.calls["/redirect"] == 8  # two events, four attempts each, never followed
    hang = WebhookDelivery.objects.filter(scraping_id=hanging).first()
    assert hang is not None
    assert "timed out" in hang.last_error.lower()

    listed = api.get(f"{JOBS}{flaky}/webhook-deliveries/").json()["results"]
    assert [(d["event"], d["status"], d["attempts"]) for d in listed] == [
        ("job.started", "delivered", 4),
        ("job.completed", "delivered", 1),
    ]


def _assert_progress_spaced(job_id: str, received_types: list[str]) -> None:
    rows = WebhookDelivery.objects.filter(scraping_id=job_id).order_by("id")
    progress = [row for row in rows if row.event == "job.progress"]
    assert len(progress) >= 2, "the slow crawl lasts several progress windows"
    assert received_types.count("job.progress") == len(progress)
    assert rows.last().event == "job.completed"  # none recorded after the job ended
    times = [datetime.fromisoformat(row.payload["created_at"]) for row in progress]
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(times)]
    # The window is a Redis key expiring after PROGRESS_SECONDS; the payload's clock is
    # read just after it is taken, so a gap may be a few milliseconds short of it.
    assert min(gaps) >= PROGRESS_SECONDS - 0.05, gaps


def test_a_webhook_worker_killed_mid_request_loses_no_event(
    api: APIClient, start_worker: Any, receiver: tuple[Receiver, str]
) -> None:
    state, origin = receiver
    api.post("/api/v1/webhook-secret/")
    start_worker(stages=["scraper", "writer"], name="crawl", concurrency=2)
    hooks = start_worker(stages=["webhooks"], name="hooks-1", concurrency=1, env=FAST_RETRIES)
    with FixtureSite(generated_routes(10, links_per_page=3)) as site:
        job_id = _start(api, site, f"{origin}/hold", events=["job.completed"])
        assert wait_terminal(job_id, timeout=60)["status"] == "COMPLETED"
        assert state.held.wait(30), "the delivery never reached the receiver"
        hooks.kill()  # SIGKILL, its request still in flight
        state.hold.set()
        start_worker(stages=["webhooks"], name="hooks-2", concurrency=1, env=FAST_RETRIES)
        wait_for(
            lambda: _deliveries(job_id).get("job.completed", ("", 0))[0] == "delivered",
            timeout=90, message="the event delivered by the second worker",
        )  # fmt: skip
    arrived = [json.loads(r.body) for r in state.received if r.path == "/hold"]
    assert [event["type"] for event in arrived] == ["job.completed"]
