from __future__ import annotations

import sys
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from isidorus.scrapings.exports.formats import FORMATS
from isidorus.scrapings.exports.service import TooManyExports, export_start
from isidorus.scrapings.models import Scraping
from isidorus.scrapings.search import Inclusion


class Command(BaseCommand):
    help = "Write a whole job to stdout, as GET /api/v1/scrapings/{id}/export/ does."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", help="the job's id")
        parser.add_argument("--format", choices=sorted(FORMATS), default="jsonl")
        parser.add_argument("--include-duplicates", action="store_true")
        parser.add_argument("--include-noindex", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            job = Scraping.objects.filter(pk=uuid.UUID(options["job"])).first()
        except ValueError:
            job = None
        if job is None:
            raise CommandError(f"no job {options['job']!r}")
        include = Inclusion(
            duplicates=options["include_duplicates"], noindex=options["include_noindex"]
        )
        try:
            export = export_start(job=job, file_format=options["format"], include=include)
        except TooManyExports:
            raise CommandError("too many exports of this job's owner are running") from None
        out = sys.stdout.buffer
        try:
            for chunk in export.stream:
                out.write(chunk)
        finally:
            export.stream.close()
        out.flush()
