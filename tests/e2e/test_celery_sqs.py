"""Celery over SQS on LocalStack, with real worker processes."""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from typing import Any

import pytest
from celery import chain
from django.conf import settings

from config.queues import PAGE_SUMMARIZER, SCRAPER, STAGES, WRITER, queue_name, queue_spec
from isidorus.integrations.aws import sqs_client
from tasks.smoke import smoke_fail, smoke_ping, smoke_relay, smoke_sleep
from tests.support.redelivery import FAST_REDELIVERY_ENV, FAST_VISIBILITY_SECONDS, fast_redelivery
from tests.support.waiting import wait_for

pytestmark = pytest.mark.e2e


def _events(redis: Any, token: str) -> list[dict[str, Any]]:
    return [json.loads(item) for item in redis.lrange(f"smoke:{token}", 0, -1)]


def _dlq_bodies_containing(token: str, stage: str) -> list[str]:
    """Receive from the stage's DLQ and return the decoded bodies that mention `token`."""
    sqs = sqs_client()
    url = sqs.get_queue_url(QueueName=queue_spec(stage).dlq_name)["QueueUrl"]
    found = []
    response = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=0
    )
    for message in response.get("Messages", []):
        body = message["Body"]
        with contextlib.suppress(ValueError):
            body = base64.b64decode(body).decode("utf-8", "replace")
        if token in body:
            found.append(body)
    return found


def test_a_task_runs_on_every_queue(start_worker: Any, redis_clean: Any) -> None:
    start_worker(name="all-queues")
    token = uuid.uuid4().hex
    for stage in STAGES:
        smoke_ping.apply_async(args=[token, stage], queue=queue_name(stage))

    events = wait_for(
        lambda: (found := _events(redis_clean, token)) and len(found) >= len(STAGES) and found,
        timeout=60,
        message="a smoke task on every queue",
    )
    assert {event["stage"]: event["queue"] for event in events} == {
        stage: queue_name(stage) for stage in STAGES
    }


def test_a_chain_delivers_its_result_across_two_queues(start_worker: Any, redis_clean: Any) -> None:
    start_worker(stages=[SCRAPER], name="scraper-only")
    start_worker(stages=[WRITER], name="writer-only")
    token = uuid.uuid4().hex
    chain(
        smoke_ping.si(token, "first").set(queue=queue_name(SCRAPER)),
        smoke_relay.s(token, "second").set(queue=queue_name(WRITER)),
    ).apply_async()

    events = wait_for(
        lambda: (found := _events(redis_clean, token)) and len(found) == 2 and found,
        timeout=60,
        message="both links of the chain",
    )
    first, second = events
    assert first["queue"] == queue_name(SCRAPER)
    assert second["queue"] == queue_name(WRITER)
    assert second["previous"] == f"first@{queue_name(SCRAPER)}"
    assert first["pid"] != second["pid"]


def test_a_worker_killed_mid_task_gets_its_message_back(
    start_worker: Any, redis_clean: Any
) -> None:
    doomed = start_worker(stages=[PAGE_SUMMARIZER], name="doomed")
    token = uuid.uuid4().hex
    smoke_sleep.apply_async(args=[token, 3.0], queue=queue_name(PAGE_SUMMARIZER))
    wait_for(
        lambda: any(e.get("event") == "started" for e in _events(redis_clean, token)),
        timeout=60,
        message="the task to start",
    )
    doomed.kill()
    assert not doomed.alive()
    assert not any(e.get("event") == "finished" for e in _events(redis_clean, token))

    start_worker(stages=[PAGE_SUMMARIZER], name="survivor")
    wait_for(
        lambda: any(e.get("event") == "finished" for e in _events(redis_clean, token)),
        timeout=settings.SQS_VISIBILITY_TIMEOUT + 60,
        message="the redelivered task to finish",
    )
    assert int(redis_clean.get(f"smoke:{token}:attempts")) == 2


def test_a_poison_task_ends_in_the_dead_letter_queue(start_worker: Any, redis_clean: Any) -> None:
    start_worker(stages=[WRITER], name="poisoned", env=FAST_REDELIVERY_ENV)
    token = uuid.uuid4().hex
    with fast_redelivery(WRITER):
        smoke_fail.apply_async(args=[token], queue=queue_name(WRITER))
        bodies = wait_for(
            lambda: _dlq_bodies_containing(token, WRITER),
            timeout=FAST_VISIBILITY_SECONDS * (settings.SQS_MAX_RECEIVES + 2) + 30,
            interval=1.0,
            message="the poison message in the DLQ",
        )
    assert "isidorus.smoke.fail" in bodies[0]
    assert int(redis_clean.get(f"smoke:{token}:attempts")) == settings.SQS_MAX_RECEIVES


def test_an_undecodable_message_ends_in_the_dead_letter_queue(
    start_worker: Any, redis_clean: Any
) -> None:
    start_worker(stages=[SCRAPER], name="decoder", env=FAST_REDELIVERY_ENV)
    token = uuid.uuid4().hex
    sqs = sqs_client()
    url = sqs.get_queue_url(QueueName=queue_name(SCRAPER))["QueueUrl"]
    with fast_redelivery(SCRAPER):
        sqs.send_message(QueueUrl=url, MessageBody=f"not a celery message {token} {{[")
        wait_for(
            lambda: _dlq_bodies_containing(token, SCRAPER),
            timeout=FAST_VISIBILITY_SECONDS * (settings.SQS_MAX_RECEIVES + 2) + 30,
            interval=1.0,
            message="the undecodable message in the DLQ",
        )
