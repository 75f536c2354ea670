"""Least-privilege IAM policies, generated from the queue, table and bucket names in use.

Two roles: `runtime` for the API, the workers and beat; `bootstrap` for
`manage.py bootstrap_aws` (creating and configuring the resources) and `manage.py dlq`
(an operator's purge). `manage.py iam_policy` prints either. Every action names its
resources, except sqs:ListQueues, which IAM cannot restrict to resources: kombu lists the
queues (by name prefix) when a worker connects.

tests/e2e/test_iam_policy.py records every AWS call of a real crawl (aws_calls.py) and
checks each is allowed here, and that each runtime action is one the crawl used.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from config.queues import all_queue_specs

# What each role may do. (Operation names map to these in `iam_action`.)
RUNTIME_ACTIONS: dict[str, tuple[str, ...]] = {
    "queues": (
        "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility", "sqs:GetQueueUrl", "sqs:GetQueueAttributes",
    ),
    "table": (
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
        "dynamodb:DescribeTable",  # /health/
    ),
    "objects": ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"),
    "bucket": ("s3:ListBucket",),
    "list_queues": ("sqs:ListQueues",),
}  # fmt: skip
BOOTSTRAP_ACTIONS: dict[str, tuple[str, ...]] = {
    "queues": (
        "sqs:CreateQueue", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes",
        "sqs:SendMessage",  # dlq redrive: back to the source queue
    ),
    "dead_letter_queues": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue"),
    "table": (
        "dynamodb:CreateTable", "dynamodb:DescribeTable", "dynamodb:DescribeTimeToLive",
        "dynamodb:UpdateTimeToLive",
    ),
    "objects": ("s3:GetObject", "s3:PutObject"),
    "bucket": (
        "s3:CreateBucket", "s3:ListBucket", "s3:GetLifecycleConfiguration",
        "s3:PutLifecycleConfiguration",
    ),
}  # fmt: skip

# S3 and SQS operations whose IAM action is not named after them.
_ACTION_OF_OPERATION = {
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "DeleteObjects"): "s3:DeleteObject",
    ("s3", "GetBucketLifecycleConfiguration"): "s3:GetLifecycleConfiguration",
    ("s3", "PutBucketLifecycleConfiguration"): "s3:PutLifecycleConfiguration",
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
    ("sqs", "DeleteMessageBatch"): "sqs:DeleteMessage",
}


def iam_action(service: str, operation: str) -> str:
    return _ACTION_OF_OPERATION.get((service, operation), f"{service}:{operation}")


def resource_arns(*, region: str, account: str) -> dict[str, list[str]]:
    queues = [spec.name for spec in all_queue_specs()] + [
        spec.dlq_name for spec in all_queue_specs()
    ]
    bucket = settings.S3_BUCKET
    return {
        "queues": [f"arn:aws:sqs:{region}:{account}:{name}" for name in queues],
        "dead_letter_queues": [
            f"arn:aws:sqs:{region}:{account}:{spec.dlq_name}" for spec in all_queue_specs()
        ],
        "table": [f"arn:aws:dynamodb:{region}:{account}:table/{settings.JOBS_TABLE}"],
        "objects": [f"arn:aws:s3:::{bucket}/*"],
        "bucket": [f"arn:aws:s3:::{bucket}"],
        "list_queues": ["*"],
    }


def iam_policy(role: str, *, region: str | None = None, account: str = "*") -> dict[str, Any]:
    """The policy document of `role` ("runtime" or "bootstrap")."""
    actions = {"runtime": RUNTIME_ACTIONS, "bootstrap": BOOTSTRAP_ACTIONS}[role]
    arns = resource_arns(region=region or settings.AWS_REGION, account=account)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": f"Isidorus{role.title()}{''.join(p.title() for p in group.split('_'))}",
                "Effect": "Allow",
                "Action": list(granted),
                "Resource": arns[group],
            }
            for group, granted in actions.items()
        ],
    }
