"""Base classes shared by every API view: key or session auth, owner throttles, one error
style.

An API key (X-API-Key or Authorization: Api-Key) is how programs call the API. A Django
session (the dashboard's login) is accepted too, with Django's CSRF check on every
unsafe method, so the dashboard's pages read the same documented endpoints.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.utils.functional import SimpleLazyObject, empty
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from isidorus.accounts.authentication import ApiKeyAuthentication
from isidorus.accounts.throttles import OwnerRequestThrottle
from isidorus.core import logs


class DashboardSessionAuthentication(SessionAuthentication):
    """Django's session (CSRF enforced by DRF), yielding the user itself rather than the
    lazy proxy Django puts on the request, so services get a real User."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        found = super().authenticate(request)
        if found is None:
            return None
        user = found[0]
        if isinstance(user, SimpleLazyObject):
            user = user._wrapped if user._wrapped is not empty else User.objects.get(pk=user.pk)
        return user, None


class OwnerApiView(APIView):
    authentication_classes = [ApiKeyAuthentication, DashboardSessionAuthentication]
    permission_classes = [IsAuthenticated]
    throttle_classes = [OwnerRequestThrottle]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # What the request's log lines say they are about (isidorus/core/logs.py).
        logs.bind(owner=request.user.pk, job_id=kwargs.get("job_id"))

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        logs.bind()  # the thread's next request starts with no fields
        return super().finalize_response(request, response, *args, **kwargs)


def request_owner(request: Request) -> User:
    """The API key's owner. OwnerApiView's IsAuthenticated has already refused anonymous
    requests, so the check only narrows `request.user` for the type checker."""
    user = request.user
    if not isinstance(user, User):
        raise NotAuthenticated
    return user
