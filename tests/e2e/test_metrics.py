"""GET /metrics after a real crawl (issue 14): the workers' counters, added up from their
multiprocess files, agree with the database; queue depths and jobs by status are read at
scrape time; only allowed networks or the bearer token may read it."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import requests
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from config.queues import STAGES, queue_spec
from isidorus.integrations.aws import sqs_client
from isidorus.scrapings.models import Page
from tasks.smoke import smoke_ping
from tests.e2e.crawling import start_crawl, wait_terminal
from tests.support.fixture_site import fixture_routes
from tests.support.processes import free_port
from tests.support.site import FixtureSite
from tests.support.workers import REPO_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _by(samples: dict[Any, float], name: str, *labels: str) -> dict[tuple[str, ...], float]:
    found: dict[tuple[str, ...], float] = {}
    for (sample, pairs), value in samples.items():
        if sample == name:
            named = dict(pairs)
            found[tuple(named[label] for label in labels)] = value
    return found


def _get(port: int, path: str) -> requests.Response:
    return requests.get(f"http://127.0.0.1:{port}{path}", timeout=10)


def _delete_all(queue: str) -> None:
    sqs = sqs_client()
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_metrics_after_a_crawl_agree_with_the_database(
    start_worker: Any, redis_clean: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crawl_started = time.time()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    with FixtureSite(fixture_routes("http://127.0.0.1:9")) as site:
        worker = start_worker(
            stages=["scraper", "writer"], name="metered",
            env={
                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
                "WORKER_METRICS_ADDRESS": f"127.0.0.1:{port}",
            },
        )  # fmt: skip
        job_id = start_crawl(site.url("/"), depth=1)
        assert wait_terminal(job_id)["status"] == "COMPLETED_WITH_ERRORS"

    # The worker's own port serves its host's values (workers on other hosts cannot share
    # the API's directory) and its liveness.
    own = _samples(_get(port, "/metrics").text)
    assert _get(port, "/health/live").status_code == 200
    assert _get(port, "/health/ready").status_code == 404

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(metrics_dir))
    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = _samples(response.content.decode())

    pages = Page.objects.filter(scraping_id=job_id)
    by_outcome = Counter(pages.values_list("outcome", flat=True))
    assert _by(samples, "isidorus_pages_total", "outcome") == {
        (outcome,): float(total) for outcome, total in by_outcome.items()
    }
    by_reason = Counter(pages.exclude(outcome="fetched").values_list("outcome", "reason"))
    reasons = _by(samples, "isidorus_page_reasons_total", "outcome", "reason")
    reasons.pop(("skipped", "duplicate"), None)  # links already known: counted, never stored
    assert reasons == {key: float(total) for key, total in by_reason.items()}

    fetches = _by(samples, "isidorus_fetch_seconds_count", "outcome")
    assert fetches[("fetched",)] >= by_outcome["fetched"]
    assert sum(_by(samples, "isidorus_fetch_bytes_total").values()) > 0
    tasks = _by(samples, "isidorus_task_seconds_count", "task")
    assert tasks[("isidorus.scrape",)] >= 1
    assert tasks[("isidorus.write",)] >= 1
    assert _by(samples, "isidorus_jobs", "status")[("COMPLETED_WITH_ERRORS",)] == 1.0
    assert _by(own, "isidorus_pages_total", "outcome") == _by(
        samples, "isidorus_pages_total", "outcome"
    )
    waits = _by(samples, "isidorus_queue_wait_seconds_count", "queue")
    scraper_queue = queue_spec("scraper").name
    assert waits[(scraper_queue,)] == tasks[("isidorus.scrape",)]
    depths = _by(samples, "isidorus_queue_messages", "queue", "state")
    for stage in STAGES:
        assert (queue_spec(stage).name, "visible") in depths
    ages = _by(samples, "isidorus_queue_oldest_message_age_seconds", "queue")
    assert ages[(scraper_queue,)] == 0.0  # empty

    # With the worker gone, a message waits in the scraper queue: its age is bounded from
    # above by the time since the last message a worker received, and grows.
    worker.stop()
    sent = time.time()
    smoke_ping.apply_async(args=["metrics-age", "scraper"], queue=scraper_queue)
    time.sleep(1.5)
    try:
        scrape_started = time.time()
        age = _by(
            _samples(Client().get("/metrics").content.decode()),
            "isidorus_queue_oldest_message_age_seconds",
            "queue",
        )[(scraper_queue,)]
        assert scrape_started - sent <= age < time.time() - crawl_started
    finally:
        _delete_all(scraper_queue)
    assert set(_by(samples, "isidorus_dlq_messages", "queue")) == {
        (queue_spec(stage).dlq_name,) for stage in STAGES
    }


def test_metrics_are_for_allowed_networks_or_the_bearer_token(settings: Any) -> None:
    settings.METRICS_TOKEN = "scrape-secret"
    outside = Client(REMOTE_ADDR="10.1.2.3")
    assert outside.get("/metrics").status_code == 404
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200
    assert Client().get("/metrics").status_code == 200  # loopback is allowed by default
    settings.METRICS_TOKEN = None
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer None").status_code == 404


def _series_names(text: str) -> set[str]:
    """Every series name a scrape can hold, empty families included (a counter `x` is
    `x_total`, a histogram `x` is `x_bucket`, `x_count`, `x_sum`)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in suffixes.get(family.type, ("",))
    }


def test_the_grafana_dashboard_queries_only_series_that_metrics_serves(
    aws_resources: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)  # this process's registry
    served = _series_names(Client().get("/metrics").content.decode())
    dashboard = json.loads((REPO_ROOT / "deploy/grafana/isidorus-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\bisidorus_[a-z_]+", target["expr"])
    }
    assert queried
    assert queried - served == set()
    # Every metric Isidorus serves has a panel.
    families = {name.removesuffix("_bucket") for name in served if name.startswith("isidorus_")}
    shown = {name.removesuffix("_bucket").removesuffix("_count") for name in queried}
    assert {name for name in families if not name.endswith(("_count", "_sum", "_created"))} <= shown
