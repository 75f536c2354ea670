"""Staff see every job in the admin (the API shows each owner only their own)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from redis import RedisError

from isidorus.scrapings.models import Page, Scraping
from isidorus.scrapings.services.lifecycle import AlreadyFinished, scraping_cancel, scraping_delete
from isidorus.scrapings.services.summary import job_live


class _ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]  # generic only in django-stubs; subscripting fails at run time
    """Jobs and pages are written by the pipeline only."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Scraping)
class ScrapingAdmin(_ReadOnlyAdmin):
    list_display = [
        "id",
        "owner",
        "url",
        "status",
        "progress",
        "depth",
        "max_pages",
        "created_at",
        "finished_at",
    ]
    # One DynamoDB read (and one Redis read) per unfinished row for its live counters;
    # a finished row reads its PostgreSQL copy.
    list_per_page = 50
    list_filter = ["status", "scope", "created_at"]
    search_fields = ["url", "owner__username", "id"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    # Django's own "delete selected" deletes rows only: the job's DynamoDB item, Redis
    # state and S3 objects would stay. These go through the API's services.
    actions = ["cancel_jobs", "delete_jobs"]

    @admin.display(description="pages: done of admitted (fetched, failed, skipped)")
    def progress(self, job: Scraping) -> str:
        try:
            live = job_live(job)
        except (BotoCoreError, ClientError, RedisError):
            # The list must load even while DynamoDB or Redis does not answer.
            return "unavailable"
        pages, counters = live.progress.pages, live.counters
        admitted = "?" if pages.admitted is None else str(pages.admitted)
        return (
            f"{pages.done} of {admitted} "
            f"({counters.fetched} fetched, {counters.failed} failed, {counters.skipped} skipped)"
        )

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return self.has_delete_permission(request)

    @admin.action(description="Cancel the selected jobs", permissions=["cancel"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Scraping]) -> None:
        cancelled = finished = 0
        for job in queryset:
            try:
                scraping_cancel(job=job)
                cancelled += 1
            except AlreadyFinished:
                finished += 1
        self.message_user(
            request,
            f"Cancelled {cancelled} job(s); {finished} had already finished.",
            messages.SUCCESS,
        )

    @admin.action(description="Delete the selected jobs everywhere", permissions=["delete"])
    def delete_jobs(self, request: HttpRequest, queryset: QuerySet[Scraping]) -> None:
        jobs = list(queryset)
        for job in jobs:
            scraping_delete(job=job)
        self.message_user(
            request,
            f"Deleted {len(jobs)} job(s) with their pages, DynamoDB items, Redis state and "
            "the S3 objects no other job uses.",
            messages.SUCCESS,
        )


@admin.register(Page)
class PageAdmin(_ReadOnlyAdmin):
    list_display = ["url", "scraping", "outcome", "reason", "status_code", "depth", "fetched_at"]
    list_filter = ["outcome", "reason"]
    search_fields = ["url", "title"]
    list_select_related = ["scraping"]
    exclude = ["text"]
    show_full_result_count = False
