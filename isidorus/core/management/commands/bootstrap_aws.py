from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from isidorus.integrations.bootstrap import aws_bootstrap


class Command(BaseCommand):
    help = "Create the SQS queues (with DLQs), the DynamoDB job table and the S3 bucket."

    def handle(self, *args: Any, **options: Any) -> None:
        report = aws_bootstrap()
        for name, url in report.queues.items():
            self.stdout.write(f"queue  {name:40} {url}")
        self.stdout.write(f"table  {report.table}")
        self.stdout.write(f"bucket {report.bucket}")
