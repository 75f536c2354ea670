from __future__ import annotations

import json
import signal
import sys
import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from isidorus.integrations.job_table import TERMINAL
from isidorus.scrapings.models import Scraping
from isidorus.scrapings.serializers import ScrapingStartSerializer
from isidorus.scrapings.services.lifecycle import AlreadyFinished, scraping_cancel
from isidorus.scrapings.services.progress_line import progress_line
from isidorus.scrapings.services.start import StartRefused, StartRequest, scraping_start
from isidorus.scrapings.services.summary import job_live, job_summary, summary_lines


class Command(BaseCommand):
    help = "Start a job that crawls URL, through the service the API uses; --wait shows progress."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url")
        parser.add_argument("--depth", type=int, default=1)
        parser.add_argument("--max-pages", type=int, default=settings.CRAWL_DEFAULT_MAX_PAGES)
        parser.add_argument("--scope", choices=["host", "domain", "prefix"], default="host")
        parser.add_argument(
            "--include", action="append", default=[], metavar="REGEX",
            help="a URL must match one of these (repeatable)",
        )  # fmt: skip
        parser.add_argument(
            "--exclude", action="append", default=[], metavar="REGEX",
            help="a URL matching any of these is skipped (repeatable)",
        )  # fmt: skip
        parser.add_argument(
            "--no-robots", "--ignore-robots", dest="ignore_robots", action="store_true",
            help="do not obey robots.txt",
        )  # fmt: skip
        parser.add_argument("--follow-nofollow", action="store_true")
        parser.add_argument("--sitemap", choices=["include", "only", "skip"], default="include")
        parser.add_argument("--no-summaries", action="store_true", help="summarize=false")
        parser.add_argument("--no-images", action="store_true", help="describe_images=false")
        parser.add_argument("--token-budget", type=int, help="cap on LLM tokens for the job")
        parser.add_argument("--user", default="cli", help="owner (created if missing)")
        parser.add_argument("--wait", action="store_true", help="show progress until the end")
        parser.add_argument("--json", action="store_true", help="end with a JSON summary line")
        parser.add_argument("--timeout", type=float, default=3600.0)

    def handle(self, *args: Any, **options: Any) -> None:
        # The API's own validation, so the CLI accepts and refuses exactly what it does.
        fields = ScrapingStartSerializer(
            data={
                "url": options["url"], "depth": options["depth"],
                "max_pages": options["max_pages"], "scope": options["scope"],
                "include": options["include"], "exclude": options["exclude"],
                "respect_robots": not options["ignore_robots"],
                "follow_nofollow": options["follow_nofollow"], "sitemap": options["sitemap"],
                "summarize": not options["no_summaries"],
                "describe_images": not options["no_images"],
                "token_budget": options["token_budget"],
            }
        )  # fmt: skip
        if not fields.is_valid():
            raise CommandError(
                "; ".join(
                    f"{name}: {' '.join(map(str, bad))}" for name, bad in fields.errors.items()
                )
            )
        owner, _ = get_user_model().objects.get_or_create(username=options["user"])
        try:
            job, _ = scraping_start(owner=owner, request=StartRequest(**fields.validated_data))
        except StartRefused as refused:
            raise CommandError(refused.message) from None
        job_id = str(job.pk)
        header = f"job {job_id}: crawling {job.url} (depth {job.depth})"
        if not options["wait"] and not options["json"]:
            self.stdout.write(header)
            return
        # Ctrl-C stops the job too, not only the progress display. A handler that only sets
        # a flag, installed before the header is shown: a KeyboardInterrupt raised at any
        # point of a database or AWS call could leave a client's lock held.
        interrupted = threading.Event()
        previous = signal.signal(signal.SIGINT, lambda signum, frame: interrupted.set())
        try:
            self.stdout.write(header)
            self._follow(job_id, options["timeout"], interrupted)
        finally:
            signal.signal(signal.SIGINT, previous)
        if interrupted.is_set():
            try:
                scraping_cancel(job=job)
                self.stdout.write(f"\njob {job_id}: cancelled")
            except AlreadyFinished:
                self.stdout.write(f"\njob {job_id}: had already finished")
        summary = job_summary(job_id)
        for line in summary_lines(summary):
            self.stdout.write(line)
        if options["json"]:
            self.stdout.write(json.dumps(summary, sort_keys=True))

    def _follow(self, job_id: str, timeout: float, interrupted: threading.Event) -> None:
        started = time.monotonic()
        interactive = sys.stdout.isatty()
        last_line = ""
        while not interrupted.is_set():
            live = job_live(Scraping.objects.get(pk=job_id))
            elapsed = time.monotonic() - started
            line = progress_line(live.progress, elapsed)
            if interactive:
                self.stdout.write("\r" + line, ending="")
            elif line != last_line:
                self.stdout.write(line)
            last_line = line
            if live.status in TERMINAL:
                break
            if elapsed > timeout:
                raise CommandError(f"job {job_id} did not finish in {timeout:.0f}s")
            interrupted.wait(0.5)
        if interactive:
            self.stdout.write("")
