"""The generated IAM policies against every AWS call of a real deployment's work (issue 14).

Every process records its calls through a botocore hook (isidorus/integrations/aws_calls.py):
the workers of all five queues crawling a site with images (enrichment on), the API reading
the results, an image, an export and deleting the job, beat's reaper and drainer, then
bootstrap_aws and the dlq command. Each call must be allowed by its role's policy, with
resources named (no wildcard but sqs:ListQueues), and each runtime action must be one the
work used.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from isidorus.integrations import aws
from isidorus.integrations.aws_calls import record_aws_calls
from isidorus.integrations.bootstrap import aws_bootstrap
from isidorus.integrations.iam_policy import iam_action, iam_policy
from isidorus.maintenance import drain_dead_letters, reap_stalled_jobs
from tests.e2e.crawling import wait_terminal
from tests.e2e.test_enrichment import _site_routes
from tests.support.site import FixtureSite

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
JOBS = "/api/v1/scrapings/"
REGION, ACCOUNT = "us-east-1", "000000000000"
# Used only on paths this test does not provoke: a task's retry with a delay or a rejected
# message (kombu's ChangeMessageVisibility), and SendMessage/DeleteMessage/Receive on a DLQ
# are covered by the drainer and dlq commands below.
RUNTIME_ACTIONS_NOT_PROVOKED = {"sqs:ChangeMessageVisibility"}


def _calls(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _arn(call: dict[str, str]) -> str:
    service, resource = call["service"], call["resource"]
    if service == "sqs":
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{resource}" if resource else "*"
    if service == "dynamodb":
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{resource}"
    bucket, slash, key = resource.partition("/")
    if call["operation"] == "DeleteObjects":
        # IAM checks s3:DeleteObject on each key, which sit in the request's XML body.
        return f"arn:aws:s3:::{bucket}/*"
    return f"arn:aws:s3:::{bucket}" + (f"/{key}" if slash and key else "")


def _allowed(policy: dict[str, Any], action: str, arn: str) -> bool:
    return any(
        action in statement["Action"]
        and any(fnmatch.fnmatchcase(arn, pattern) for pattern in statement["Resource"])
        for statement in policy["Statement"]
    )


def _refused(policy: dict[str, Any], calls: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {
        (iam_action(c["service"], c["operation"]), _arn(c))
        for c in calls
        if not _allowed(policy, iam_action(c["service"], c["operation"]), _arn(c))
    }


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[Path]:
    """Record this process's calls too: its cached clients are dropped so that new ones,
    made by hooked sessions, do the work."""
    aws._client.cache_clear()
    aws._session.cache_clear()
    yield tmp_path
    record_aws_calls(None)
    aws._client.cache_clear()
    aws._session.cache_clear()


def test_every_aws_call_is_allowed_by_the_least_privilege_policies(
    recording: Path, api: APIClient, start_worker: Any, enrichment_on: dict[str, str]
) -> None:
    runtime_log, bootstrap_log = recording / "runtime.jsonl", recording / "bootstrap.jsonl"
    record_aws_calls(str(runtime_log))
    with FixtureSite(_site_routes()) as site:
        start_worker(
            name="iam", concurrency=2,
            env={**enrichment_on, "ISIDORUS_RECORD_AWS_CALLS": str(runtime_log)},
        )  # fmt: skip
        started = api.post(JOBS, {"url": site.url("/"), "depth": 1}, format="json")
        job_id = started.json()["id"]
        wait_terminal(job_id)
        assert api.get(f"{JOBS}{job_id}/").status_code == 200
        images = api.get(f"{JOBS}{job_id}/images/").json()["results"]
        stored = next(image for image in images if image["outcome"] == "stored")
        assert api.get(f"{JOBS}{job_id}/images/{stored['id']}/content/").status_code == 200
        export = api.get(f"{JOBS}{job_id}/export/?format=jsonl")
        assert b"".join(export.streaming_content)
        assert api.get("/health/").status_code == 200
        reap_stalled_jobs()
        drain_dead_letters()
        assert api.delete(f"{JOBS}{job_id}/").status_code == 204

    record_aws_calls(str(bootstrap_log))
    aws_bootstrap()
    call_command("dlq", "list", stdout=open("/dev/null", "w"))  # noqa: SIM115
    record_aws_calls(None)

    runtime, bootstrap = _calls(runtime_log), _calls(bootstrap_log)
    operations = {(c["service"], c["operation"]) for c in runtime}
    # The work really reached every store through every kind of process.
    assert {("sqs", "ReceiveMessage"), ("dynamodb", "UpdateItem"), ("s3", "PutObject"),
            ("s3", "GetObject"), ("dynamodb", "DeleteItem")} <= operations  # fmt: skip
    assert len({c["pid"] for c in runtime}) >= 3

    runtime_policy = iam_policy("runtime", region=REGION, account=ACCOUNT)
    bootstrap_policy = iam_policy("bootstrap", region=REGION, account=ACCOUNT)
    assert _refused(runtime_policy, runtime) == set()
    assert _refused(bootstrap_policy, bootstrap) == set()

    # Nothing broader than needed: resources named, and every runtime action used.
    for policy in (runtime_policy, bootstrap_policy):
        for statement in policy["Statement"]:
            assert all("*" not in action for action in statement["Action"])
            if statement["Resource"] == ["*"]:
                assert statement["Action"] == ["sqs:ListQueues"]
    granted = {action for s in runtime_policy["Statement"] for action in s["Action"]}
    used = {iam_action(c["service"], c["operation"]) for c in runtime}
    assert granted - used == RUNTIME_ACTIONS_NOT_PROVOKED
