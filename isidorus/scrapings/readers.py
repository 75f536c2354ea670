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


def owner_reads(user: Any, *, signed_in_by_session: bool) -> Any:
    """Whose jobs `user` may read: their own, or EVERY_OWNER for a staff account signed in
    by session (the dashboard's staff view). An API key reads its owner's jobs only, even
    a staff member's key, so programs always see one tenant."""
    return EVERY_OWNER if user.is_staff and signed_in_by_session else user


def job_reader(request: Request) -> Any:
    """Whose jobs this API request may read (`owner_reads`; no key means a session)."""
    return owner_reads(request_owner(request), signed_in_by_session=request.auth is None)
