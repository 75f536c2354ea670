"""A worker with LOG_FORMAT=json writes one JSON object per log line, and each line a task
writes names the task, its id, the job, the write batch and the job's owner (issue 14)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.crawling import crawl_owner, start_crawl, wait_terminal
from tests.support.site import FixtureSite, Route, html

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_json_logging_worker_names_the_task_job_batch_and_owner_of_each_line(
    start_worker: Any, redis_clean: Any
) -> None:
    routes = {
        "/": Route(body=html("Home", '<a href="/a.html">a</a> <a href="/b.html">b</a>')),
        "/a.html": Route(body=html("A", "<p>anchors</p>")),
        "/b.html": Route(body=html("B", "<p>buoys</p>")),
    }
    with FixtureSite(routes) as site:
        worker = start_worker(
            stages=["scraper", "writer"], name="json-logs", env={"LOG_FORMAT": "json"}
        )
        job_id = start_crawl(site.url("/"), depth=1)
        assert wait_terminal(job_id)["status"] == "COMPLETED"
        worker.stop()
    # Celery's start-up banner is printed, not logged; every logged line is JSON.
    logged = [line for line in worker.log_path.read_text().splitlines() if line.startswith("{")]
    records = [json.loads(line) for line in logged]
    assert any(record["message"].endswith(" ready.") for record in records)

    done = [r for r in records if r["logger"] == "celery.app.trace" and "succeeded" in r["message"]]
    by_task = {record["task"]: record for record in done if record.get("job_id") == job_id}
    assert set(by_task) == {"isidorus.scrape", "isidorus.write"}, done
    owner = str(crawl_owner().pk)
    for record in by_task.values():
        assert record["owner"] == owner
        assert record["task_id"] in record["message"]  # Celery names the task id it ran
    assert by_task["isidorus.write"]["batch_id"]
    assert "batch_id" not in by_task["isidorus.scrape"]
