"""Whose jobs a read may see: one owner's (a User), or every owner's (EVERY_OWNER).

Every owner's is only for a staff account signed in to the dashboard
(`job_reader`); an API key always reads its own owner's jobs.
A named value rather than None, so that a missing owner can never widen a read.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

from django.db.models import Model, QuerySet
from rest_framework.request import Request

from isidorus.accounts.api_views import request_owner


class _EveryOwner:
    def __repr__(self) -> str:
        return "EVERY_OWNER"


EVERY_OWNER: Final = _EveryOwner()
ModelT = TypeVar("ModelT", bound=Model)


def readable(rows: QuerySet[ModelT], owner: Any, *, owner_path: str = "owner") -> QuerySet[ModelT]:
    """`rows` narrowed to what `owner` may read (`owner_path` leads from a row to its owner)."""
    if owner is EVERY_OWNER:
        return rows
    if owner is None:
        raise ValueError("a read needs an owner (or EVERY_OWNER)")
    return rows.filter(**{owner_path: owner})


def job_reader(request: Request) -> Any:
    """Whose jobs this request may read: its user's, or EVERY_OWNER for a staff account
    signed in by session (the dashboard's staff view). An API key reads its owner's jobs
    only, even a staff member's key, so programs always see one tenant."""
    user = request_owner(request)
    if user.is_staff and request.auth is None:  # signed in by session, not by a key
        return EVERY_OWNER
    return user
