"""boto3 clients, one per (service, endpoint) per process.

Endpoints come from AWS_ENDPOINT_URL[_<SERVICE>] (settings.AWS_ENDPOINTS); with none set,
boto3 talks to real AWS. Local endpoints use path-style S3 addressing, because
`bucket.localhost` would go to DNS.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings


@functools.cache
def _session() -> boto3.session.Session:
    # One session per process: its loader caches the endpoint and model files that every
    # client would otherwise read and parse again.
    return boto3.session.Session()


@functools.cache
def _client(service: str, endpoint_url: str | None, region: str, timeout: float) -> Any:
    # A stalled endpoint (tests/e2e/test_store_pauses.py) holds a call for up to 3 attempts
    # of `timeout` each. A task's soft time limit does not cut it short: botocore wraps any
    # exception raised while sending, Celery's SoftTimeLimitExceeded included, in a
    # retryable HTTPClientError, so the call goes on until these timeouts or the hard limit
    # kills the process (safe: the message comes back). Production's 10 s x 3 sits well
    # inside its 160 s soft limit; a 10 s stall ends within the first or second attempt
    # (that test's workers with a 40 s limit just waited and went on).
    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint_url else {},
        max_pool_connections=32,
    )
    client = _session().client(
        service, endpoint_url=endpoint_url, region_name=region, config=config
    )
    ask_keep_alive(client)
    return client


def ask_keep_alive(client: Any) -> None:
    """Ask for a persistent connection on every request of a boto3 client.

    LocalStack's gateway (hypercorn) answers `Connection: close` unless the request asks
    for keep-alive, so every SQS or S3 call opened a new TCP connection: an SQS send cost
    3.5 ms of LocalStack's CPU and 1.6 of the caller's this way, against 2.4 and 1.1 on a
    kept connection (an S3 put of 100 KB: 3.5-4.5 and 1.9-2.5 against 2.9-3.3 and
    1.7-2.0). AWS keeps HTTP/1.1 connections open anyway; the header is added after
    signing, so it is not a signed header.
    """
    client.meta.events.register("before-send", _keep_alive)


def _keep_alive(request: Any, **_: Any) -> None:
    request.headers["Connection"] = "keep-alive"


def aws_client(service: str) -> Any:
    return _client(
        service, settings.AWS_ENDPOINTS[service], settings.AWS_REGION, settings.AWS_TIMEOUT_SECONDS
    )


def sqs_client() -> Any:
    return aws_client("sqs")


def s3_client() -> Any:
    return aws_client("s3")


def dynamodb_client() -> Any:
    return aws_client("dynamodb")
