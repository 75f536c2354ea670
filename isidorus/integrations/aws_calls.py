"""Record every AWS call a process makes: service, operation and the resource it names.

With ISIDORUS_RECORD_AWS_CALLS=<file>, each process appends one JSON line per call to the
file. A botocore `before-sign` hook sees every request, boto3's and kombu's asynchronous
SQS receives alike (both sign through botocore). The end-to-end test of the IAM policy
(isidorus/integrations/iam_policy.py) checks the policy allows each recorded call; an
operator can run a job with it to see what a deployment calls.
"""

from __future__ import annotations

import json
import os
import threading
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session

_lock = threading.Lock()
# "path": where this process's calls go now (absent: not recording); "installed": the
# hook is on (once per process).
_target: dict[str, str] = {}


def _body_params(request: Any) -> dict[str, Any]:
    body = request.body or request.data or b""
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, bytes) or not body:
        return {}
    try:
        parsed = json.loads(body)
        return parsed if isinstance(parsed, dict) else {}
    except ValueError:
        return {name: values[0] for name, values in parse_qs(body.decode(errors="replace")).items()}


def call_resource(service: str, request: Any) -> str:
    """The queue, table or bucket (and key) a request names, as recorded."""
    url = urlsplit(request.url)
    if service == "s3":
        return unquote(url.path.lstrip("/"))  # path-style: bucket/key
    params = _body_params(request)
    if service == "sqs":
        queue = params.get("QueueUrl") or params.get("QueueName") or url.path
        return str(queue).rstrip("/").rsplit("/", 1)[-1]
    if service == "dynamodb":
        tables = params.get("RequestItems") or {}
        if isinstance(tables, dict) and tables:
            return ",".join(sorted(tables))
        return str(params.get("TableName", ""))
    return ""


def record_aws_calls(path: str | None) -> None:
    """From now on, every botocore session this process creates records its calls to
    `path` (None: stop recording)."""
    if path is None:
        _target.pop("path", None)
        return
    _target["path"] = path
    if "installed" not in _target:
        _target["installed"] = "yes"
        _install()


def _record(request: Any, operation_name: str, event_name: str, **_: Any) -> None:
    path = _target.get("path")
    if path is None:
        return
    service = event_name.split(".")[1]  # before-sign.<service>.<operation>
    line = {"service": service, "operation": operation_name,
            "resource": call_resource(service, request), "pid": os.getpid()}  # fmt: skip
    with _lock, open(path, "a") as out:
        out.write(json.dumps(line) + "\n")


def _install() -> None:
    original_init = botocore.session.Session.__init__

    def init_and_record(self: botocore.session.Session, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.register("before-sign", _record)

    # On the class, so that the sessions kombu creates record too.
    botocore.session.Session.__init__ = init_and_record
