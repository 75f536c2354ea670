from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from isidorus.integrations.iam_policy import iam_policy


class Command(BaseCommand):
    help = (
        "Print the least-privilege IAM policy for the runtime (API, workers, beat) or for "
        "bootstrap_aws and dlq, from the configured queue, table and bucket names."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("role", choices=["runtime", "bootstrap"])
        parser.add_argument("--account", default="*", help="AWS account id (default: any)")
        parser.add_argument("--region", help="AWS region (default: AWS_DEFAULT_REGION)")

    def handle(self, *args: Any, **options: Any) -> None:
        policy = iam_policy(options["role"], region=options["region"], account=options["account"])
        self.stdout.write(json.dumps(policy, indent=2))
