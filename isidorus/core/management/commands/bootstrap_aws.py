from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from isidorus.integrations.bootstrap import BucketNotOurs, aws_bootstrap


class Command(BaseCommand):
    help = "Create the SQS queues (with DLQs), the DynamoDB job table and the S3 bucket."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = aws_bootstrap()
        except BucketNotOurs as refused:
            raise CommandError(str(refused)) from None
        for name, url in report.queues.items():
            self.stdout.write(f"queue  {name:40} {url}")
        self.stdout.write(f"table  {report.table}")
        self.stdout.write(f"bucket {report.bucket}")
