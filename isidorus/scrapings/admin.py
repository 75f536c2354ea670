"""Staff see every job in the admin (the API shows each owner only their own)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from isidorus.scrapings.models import Page, Scraping


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
        "depth",
        "max_pages",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "scope", "created_at"]
    search_fields = ["url", "owner__username", "id"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"


@admin.register(Page)
class PageAdmin(_ReadOnlyAdmin):
    list_display = ["url", "scraping", "outcome", "reason", "status_code", "depth", "fetched_at"]
    list_filter = ["outcome", "reason"]
    search_fields = ["url", "title"]
    list_select_related = ["scraping"]
    exclude = ["text"]
    show_full_result_count = False
