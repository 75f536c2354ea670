"""Pagination that refuses bad input with a 400 instead of guessing.

DRF's CursorPagination silently falls back to the default for a bad `page_size`, answers
404 for an undecodable cursor, and passes the cursor's position to the database unchecked
(a forged position would become a 500). Here all three are field errors. Lists in an order
a cursor cannot follow (search rank) use numbered pages, checked the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param

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
        size = _small_int(raw)
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


class IdCursorPagination(StrictCursorPagination):
    """In the order the rows were written (ascending id).

    Rows written while a client pages through land after its cursor, so a walk sees every
    row once: none repeated, none skipped.
    """

    ordering = ("id",)

    def parse_position(self, position: str) -> int:
        number = int(position) if position.isascii() and position.isdigit() else -1
        if not 0 <= number <= _MAX_BIGINT:
            raise ValueError(position)
        return number


class PageCursorPagination(IdCursorPagination):
    """Pages in the order they were written."""


@dataclass(frozen=True)
class NumberedPage:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


class NumberedPagination:
    """`page` and `page_size` for results in an order a cursor cannot follow (search rank).

    There is no total count (counting every match would cost more than the page itself),
    and no page past MAX_PAGE: deep offsets re-rank everything before them.
    """

    page_query_param = "page"
    page_size_query_param = "page_size"
    default_page_size = 20
    max_page_size = 50
    max_page = 100

    def parse(self, request: Request) -> NumberedPage:
        errors: dict[str, list[str]] = {}
        number = _bounded(request, self.page_query_param, 1, self.max_page, 1, errors)
        size = _bounded(
            request,
            self.page_size_query_param,
            1,
            self.max_page_size,
            self.default_page_size,
            errors,
        )
        if errors:
            raise ValidationError(errors)
        return NumberedPage(number=number, size=size)

    def links(
        self, request: Request, page: NumberedPage, *, has_more: bool
    ) -> tuple[str | None, str | None]:
        """The `next` and `previous` URLs of `page`."""
        url = request.build_absolute_uri()
        next_url = None
        if has_more and page.number < self.max_page:
            next_url = replace_query_param(url, self.page_query_param, page.number + 1)
        previous_url = None
        if page.number > 1:
            previous_url = replace_query_param(url, self.page_query_param, page.number - 1)
        return next_url, previous_url


def _bounded(
    request: Request, name: str, low: int, high: int, default: int, errors: dict[str, list[str]]
) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    number = _small_int(raw)
    if not low <= number <= high:
        errors[name] = [f"must be an integer from {low} to {high}"]
    return number


def _small_int(raw: str) -> int:
    """A short run of ASCII digits as a number; anything else (or too long) is 0."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else 0
