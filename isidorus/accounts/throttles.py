"""DRF throttles over the per-owner Redis windows (isidorus.job_state.limits)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from isidorus.job_state.limits import hit_window


class _OwnerWindowThrottle(BaseThrottle):
    name = ""
    window_seconds = 60

    def limit(self) -> int:
        raise NotImplementedError

    def applies_to(self, request: Request) -> bool:
        return True

    def allow_request(self, request: Request, view: Any) -> bool:
        self._retry_after: int | None = None
        owner_id = getattr(request.user, "pk", None)  # None: no user, or an anonymous one
        if not owner_id:
            return True
        if not self.applies_to(request):
            return True
        decision = hit_window(
            name=self.name,
            owner_id=int(owner_id),
            limit=self.limit(),
            window_seconds=self.window_seconds,
        )
        self._retry_after = None if decision.allowed else decision.retry_after
        return decision.allowed

    def wait(self) -> float | None:
        return self._retry_after


class OwnerRequestThrottle(_OwnerWindowThrottle):
    name = "requests"

    def limit(self) -> int:
        return int(settings.ISIDORUS_REQUESTS_PER_MINUTE)


class CrawlStartThrottle(_OwnerWindowThrottle):
    name = "crawl-starts"

    def limit(self) -> int:
        return int(settings.ISIDORUS_CRAWL_STARTS_PER_MINUTE)

    def applies_to(self, request: Request) -> bool:
        return request.method == "POST"
