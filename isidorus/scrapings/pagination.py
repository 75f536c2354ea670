"""Cursor pagination that refuses bad input with a 400 instead of guessing.

DRF's CursorPagination silently falls back to the default for a bad `page_size`, answers
404 for an undecodable cursor, and passes the cursor's position to the database unchecked
(a forged position would become a 500). Here all three are field errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

MAX_PAGE_SIZE = 100
_MAX_BIGINT = 2**63 - 1


class StrictCursorPagination(CursorPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def parse_position(self, position: str) -> Any:
        """Raise ValueError unless `position` is a value of the first ordering field."""
        raise NotImplementedError

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return int(self.page_size)
        size = int(raw) if raw.isascii() and raw.isdigit() else 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise ValidationError(
                {self.page_size_query_param: [f"must be an integer from 1 to {MAX_PAGE_SIZE}"]}
            )
        return size

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
            if cursor is not None and cursor.position is not None:
                self.parse_position(str(cursor.position))
        except (NotFound, ValueError):
            raise ValidationError({self.cursor_query_param: ["invalid cursor"]}) from None
        return cursor


class ScrapingCursorPagination(StrictCursorPagination):
    """Newest first; `-id` breaks ties between jobs created in the same microsecond."""

    ordering = ("-created_at", "-id")

    def parse_position(self, position: str) -> datetime:
        parsed = parse_datetime(position)
        if parsed is None or parsed.tzinfo is None:
            raise ValueError(position)
        return parsed


class PageCursorPagination(StrictCursorPagination):
    """In the order the pages were written."""

    ordering = ("id",)

    def parse_position(self, position: str) -> int:
        number = int(position) if position.isascii() and position.isdigit() else -1
        if not 0 <= number <= _MAX_BIGINT:
            raise ValueError(position)
        return number
