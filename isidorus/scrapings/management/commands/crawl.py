from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from isidorus.integrations.job_table import TERMINAL
from isidorus.scrapings.serializers import ScrapingStartSerializer
from isidorus.scrapings.services.lifecycle import AlreadyFinished, scraping_cancel
from isidorus.scrapings.services.start import StartRefused, StartRequest, scraping_start
from isidorus.scrapings.services.summary import job_progress, job_summary

BAR_WIDTH = 30


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
        parser.add_argument("--ignore-robots", action="store_true", help="do not obey robots.txt")
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
        self.stdout.write(f"job {job_id}: crawling {job.url} (depth {job.depth})")
        if not options["wait"] and not options["json"]:
            return
        try:
            self._follow(job_id, options["timeout"])
        except KeyboardInterrupt:
            # Ctrl-C stops the job too, not only the progress display.
            try:
                scraping_cancel(job=job)
                self.stdout.write(f"\njob {job_id}: cancelled")
            except AlreadyFinished:
                self.stdout.write(f"\njob {job_id}: had already finished")
        summary = job_summary(job_id)
        self._print_summary(summary)
        if options["json"]:
            self.stdout.write(json.dumps(summary, sort_keys=True))

    def _follow(self, job_id: str, timeout: float) -> None:
        started = time.monotonic()
        interactive = sys.stdout.isatty()
        last_line = ""
        while True:
            progress = job_progress(job_id)
            done = progress["fetched"] + progress["failed"] + progress["skipped"]
            elapsed = time.monotonic() - started
            total = done + progress["open"]
            filled = int(BAR_WIDTH * done / total) if total else 0
            line = (
                f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} work items "
                f"({progress['fetched']} fetched, {progress['failed']} failed, "
                f"{progress['skipped']} skipped) "
                f"{progress['fetched'] / max(elapsed, 0.001):.1f} pages/s"
            )
            if interactive:
                self.stdout.write("\r" + line, ending="")
            elif line != last_line:
                self.stdout.write(line)
            last_line = line
            if progress["status"] in TERMINAL:
                break
            if elapsed > timeout:
                raise CommandError(f"job {job_id} did not finish in {timeout:.0f}s")
            time.sleep(0.5)
        if interactive:
            self.stdout.write("")

    def _print_summary(self, summary: dict[str, Any]) -> None:
        pages = summary["pages"]
        write = self.stdout.write
        write(
            f"status:  {summary['status']}"
            + (f" ({summary['reason']})" if summary["reason"] else "")
        )
        write(
            f"pages:   {pages['fetched']} fetched, {pages['failed']} failed, "
            f"{pages['skipped']} skipped"
        )
        for kind in ("failed", "skipped"):
            for reason, count in sorted(pages[f"{kind}_by_reason"].items()):
                write(f"         {kind} {reason}: {count}")
        terms = ", ".join(f"{t['term']} ({t['count']})" for t in summary["top_terms"])
        write(f"terms:   {terms or '-'}")
        write(
            f"links:   {summary['links']}   images: {summary['images']}"
            f"   summaries: {summary['summaries']}"
        )
        rate = summary["pages_per_second"]
        write(f"elapsed: {summary['elapsed_seconds']}s" + (f"   {rate} pages/s" if rate else ""))
