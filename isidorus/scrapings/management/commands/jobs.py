from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from isidorus.scrapings.models import JobStatus, Scraping


class Command(BaseCommand):
    help = "List jobs, newest first (every owner's; an operator's command)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", help="only this owner's jobs (username)")
        parser.add_argument("--status", choices=JobStatus.values)
        parser.add_argument("--limit", type=int, default=20)

    def handle(self, *args: Any, **options: Any) -> None:
        jobs = Scraping.objects.select_related("owner").order_by("-created_at")
        if options["user"]:
            jobs = jobs.filter(owner__username=options["user"])
        if options["status"]:
            jobs = jobs.filter(status=options["status"])
        rows = list(jobs[: max(1, options["limit"])])
        if not rows:
            self.stdout.write("no jobs")
            return
        self.stdout.write(f"{'id':36}  {'status':21}  {'owner':12}  {'created':16}  url")
        for job in rows:
            created = job.created_at.strftime("%Y-%m-%d %H:%M")
            owner = job.owner.username[:12]
            self.stdout.write(f"{job.pk!s:36}  {job.status:21}  {owner:12}  {created}  {job.url}")
