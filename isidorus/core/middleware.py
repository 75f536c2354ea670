"""Request middleware shared by every view."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from isidorus.core.errors import store_unavailable_response


class DatabaseUnavailableMiddleware:
    """Views outside DRF (the admin) answer 503 with Retry-After, not a 500, while
    PostgreSQL or Redis cannot be reached. API views get the same from the DRF exception
    handler."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return store_unavailable_response(exception)
