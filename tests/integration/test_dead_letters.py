"""`manage.py dlq`: list, show, redrive and purge a dead-letter queue (LocalStack SQS).
The webhooks queue is used because no worker consumes it in these tests."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from config.queues import WEBHOOKS, queue_spec
from isidorus.contracts import DELIVER_WEBHOOK, WebhookBody
from isidorus.integrations.aws import sqs_client
from isidorus.publishing import publish
from tests.support.batches import take


def _url(name: str) -> str:
    return str(sqs_client().get_queue_url(QueueName=name)["QueueUrl"])


def _dead_letter(delivery_id: int) -> None:
    """A real task message, moved by hand from its queue to the dead-letter queue."""
    spec = queue_spec(WEBHOOKS)
    publish(DELIVER_WEBHOOK, WebhookBody(delivery_id))
    sqs = sqs_client()
    message = sqs.receive_message(QueueUrl=_url(spec.name), WaitTimeSeconds=2)["Messages"][0]
    sqs.send_message(QueueUrl=_url(spec.dlq_name), MessageBody=message["Body"])
    sqs.delete_message(QueueUrl=_url(spec.name), ReceiptHandle=message["ReceiptHandle"])


def _run(*arguments: str) -> str:
    out = StringIO()
    call_command("dlq", *arguments, stdout=out)
    return out.getvalue()


def test_list_show_redrive_and_purge(aws_resources: Any) -> None:
    for delivery_id in (41, 42):
        _dead_letter(delivery_id)
    listed = _run("list", WEBHOOKS)
    assert f"{queue_spec(WEBHOOKS).dlq_name}" in listed
    assert "2 messages" in listed
    shown = _run("show", WEBHOOKS)
    assert shown.count(DELIVER_WEBHOOK.name) == 2
    assert '"delivery": 41' in shown

    assert _run("redrive", WEBHOOKS).strip() == f"moved 2 message(s) back to {WEBHOOKS}"
    back = sorted(argument["delivery"] for _, argument in take(WEBHOOKS))
    assert back == [41, 42]
    assert "0 messages" in _run("list", WEBHOOKS)

    _dead_letter(43)
    with pytest.raises(CommandError, match="--yes"):
        _run("purge", WEBHOOKS)
    _run("purge", WEBHOOKS, "--yes")
    assert "0 messages" in _run("list", WEBHOOKS)


def test_an_unknown_queue_is_refused(aws_resources: Any) -> None:
    with pytest.raises(CommandError, match="name a queue"):
        _run("show", "nope")
