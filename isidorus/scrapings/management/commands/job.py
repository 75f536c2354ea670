from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from isidorus.scrapings.models import Scraping
from isidorus.scrapings.services.summary import job_summary, summary_lines


class Command(BaseCommand):
    help = "Print a job's summary: status, pages by outcome and reason, terms, counts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_id")
        parser.add_argument("--json", action="store_true", help="the summary as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            job_id = str(uuid.UUID(options["job_id"]))
        except ValueError:
            raise CommandError(f"not a job id: {options['job_id']!r}") from None
        if not Scraping.objects.filter(pk=job_id).exists():
            raise CommandError(f"no job {job_id}")
        summary = job_summary(job_id)
        if options["json"]:
            self.stdout.write(json.dumps(summary, sort_keys=True))
            return
        for line in summary_lines(summary):
            self.stdout.write(line)
